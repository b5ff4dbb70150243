import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { VideoPlatformErrors } from '../../errors.js';

/** Typed arrays the artifacts store, by dtype name. */
export type DType = 'u8' | 'i8' | 'u16' | 'u32' | 'i32' | 'f32';
type TA = Uint8Array | Int8Array | Uint16Array | Uint32Array | Int32Array | Float32Array;

const CTOR = { u8: Uint8Array, i8: Int8Array, u16: Uint16Array, u32: Uint32Array, i32: Int32Array, f32: Float32Array } as const;

/** A column file entry in a manifest. */
export interface ColumnFile {
  readonly file: string;
  readonly dtype: DType;
  /** Logical shape; the product is the element count. */
  readonly shape: readonly number[];
}

function dtypeOf(a: TA): DType {
  if (a instanceof Uint8Array) return 'u8';
  if (a instanceof Int8Array) return 'i8';
  if (a instanceof Uint16Array) return 'u16';
  if (a instanceof Uint32Array) return 'u32';
  if (a instanceof Int32Array) return 'i32';
  return 'f32';
}

/** Writes a typed array as a raw little-endian file and returns its manifest entry. */
export function writeColumn(dir: string, file: string, a: TA, shape: readonly number[] = [a.length]): ColumnFile {
  writeFileSync(`${dir}/${file}`, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return { file, dtype: dtypeOf(a), shape };
}

/** Reads a column written by {@link writeColumn}; checks its size. */
export function readColumn<D extends DType>(dir: string, col: ColumnFile & { dtype: D }): InstanceType<(typeof CTOR)[D]> {
  const buf = readFileSync(`${dir}/${col.file}`);
  const Ctor = CTOR[col.dtype];
  const n = col.shape.reduce((a, b) => a * b, 1);
  if (buf.byteLength !== n * Ctor.BYTES_PER_ELEMENT) {
    throw VideoPlatformErrors.create(
      'RECSPINE_ERR_VP_ARTIFACT',
      `${col.file}: expected ${n} ${col.dtype} values, file has ${buf.byteLength} bytes`,
      {
        stage: 'artifacts',
      },
    );
  }
  const copy = new Uint8Array(buf.byteLength);
  copy.set(buf);
  return new Ctor(copy.buffer) as InstanceType<(typeof CTOR)[D]>;
}

/** Appends fixed-size records to a file through a bounded buffer (memory stays O(chunk)). */
export class RecordWriter {
  private readonly fd: number;
  private readonly buf: Buffer;
  private pos = 0;
  count = 0;
  constructor(
    path: string,
    readonly recordBytes: number,
    chunkRecords = 16384,
  ) {
    this.fd = openSync(path, 'w');
    this.buf = Buffer.alloc(recordBytes * chunkRecords);
  }
  /** Returns a DataView offset for the next record; the caller fills `recordBytes` bytes from it. */
  next(): number {
    if (this.pos + this.recordBytes > this.buf.length) this.flush();
    const at = this.pos;
    this.pos += this.recordBytes;
    this.count++;
    return at;
  }
  get view(): Buffer {
    return this.buf;
  }
  flush(): void {
    if (this.pos > 0) writeSync(this.fd, this.buf, 0, this.pos);
    this.pos = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
