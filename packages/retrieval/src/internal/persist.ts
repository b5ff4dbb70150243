import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RetrievalErrors } from '../errors.js';
import type { AnnBackend, AnnMetric, AnnQuantization } from '../AnnIndex.js';

export const FORMAT = 'recspine-ann/1';
const STAGE = 'retrieval/ann/persist';

export interface FileEntry {
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** `manifest.json` of a saved index directory. */
export interface Manifest {
  readonly format: string;
  readonly backend: AnnBackend;
  readonly metric: AnnMetric;
  readonly quantization: AnnQuantization;
  readonly dims: number;
  readonly size: number;
  readonly options: Readonly<Record<string, number>>;
  readonly files: { readonly index: FileEntry; readonly ids: FileEntry };
  readonly savedAt: string;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Writes an index directory atomically: everything goes to a sibling temp directory, the
 * checksums are computed from the bytes on disk, and only then the temp directory replaces `dir`
 * (rename, rename, delete). A failed save leaves the previous `dir` untouched.
 */
export async function saveDir(
  dir: string,
  writeNative: (path: string) => void | Promise<void>,
  ids: unknown,
  header: Omit<Manifest, 'files' | 'savedAt' | 'format'>,
): Promise<void> {
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  try {
    const indexPath = join(tmp, 'index.bin');
    await writeNative(indexPath);
    const idsPath = join(tmp, 'ids.json');
    await writeFile(idsPath, JSON.stringify(ids));
    const entry = async (p: string): Promise<FileEntry> => ({
      name: basename(p),
      bytes: (await stat(p)).size,
      sha256: await sha256File(p),
    });
    const manifest: Manifest = {
      format: FORMAT,
      ...header,
      files: { index: await entry(indexPath), ids: await entry(idsPath) },
      savedAt: new Date().toISOString(),
    };
    await writeFile(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2));
    const old = join(dirname(dir), `.${basename(dir)}.old-${randomBytes(6).toString('hex')}`);
    let moved = false;
    try {
      await rename(dir, old);
      moved = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    await rename(tmp, dir);
    if (moved) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw RetrievalErrors.create('RECSPINE_ERR_ANN_BACKEND', `saving the index to ${dir} failed: ${(e as Error).message}`, {
      stage: STAGE,
      cause: e,
    });
  }
}

function corrupt(dir: string, why: string, cause?: unknown): Error {
  return RetrievalErrors.create('RECSPINE_ERR_ANN_CORRUPT_FILE', `index at ${dir}: ${why}`, { stage: STAGE, cause });
}

/**
 * Reads and verifies a saved index directory: the manifest parses and has this format, and every
 * file has the recorded size and SHA-256. Only after that does any byte reach a native library
 * (which may crash the process on a truncated file).
 */
export async function readVerified(dir: string): Promise<{ manifest: Manifest; indexPath: string; ids: unknown }> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch (e) {
    throw corrupt(dir, 'manifest.json is missing or not JSON', e);
  }
  if (manifest === null || typeof manifest !== 'object' || manifest.format !== FORMAT) {
    throw corrupt(dir, `unknown format ${String((manifest as { format?: unknown } | null)?.format)}`);
  }
  const { files } = manifest;
  if (
    typeof files?.index?.sha256 !== 'string' ||
    typeof files?.ids?.sha256 !== 'string' ||
    !Number.isInteger(manifest.dims) ||
    manifest.dims <= 0
  ) {
    throw corrupt(dir, 'manifest is incomplete');
  }
  for (const f of [files.index, files.ids]) {
    const p = join(dir, basename(f.name));
    let bytes: number;
    try {
      bytes = (await stat(p)).size;
    } catch (e) {
      throw corrupt(dir, `${f.name} is missing`, e);
    }
    if (bytes !== f.bytes) throw corrupt(dir, `${f.name} has ${bytes} bytes, manifest says ${f.bytes} (truncated?)`);
    const sum = await sha256File(p);
    if (sum !== f.sha256) throw corrupt(dir, `${f.name} checksum mismatch`);
  }
  let ids: unknown;
  try {
    ids = JSON.parse(await readFile(join(dir, basename(files.ids.name)), 'utf8'));
  } catch (e) {
    throw corrupt(dir, 'ids.json is not JSON', e);
  }
  return { manifest, indexPath: join(dir, basename(files.index.name)), ids };
}
