import fc from 'fast-check';
import { Command } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { encodeMget } from './RedisBackend.js';

describe('encodeMget (raw RESP for batch reads)', () => {
  it('produces exactly the bytes ioredis would send for MGET of the joined keys (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 12, unit: 'binary' }),
        fc.array(fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }), { minLength: 1, maxLength: 300 }),
        fc.string({ maxLength: 20, unit: 'binary' }),
        (head, ids, tail) => {
          const keys = ids.map((id) => head + id + tail);
          const want = new Command('MGET', keys).toWritable({});
          const got = encodeMget({ head, ids, tail });
          expect(Buffer.from(got).equals(typeof want === 'string' ? Buffer.from(want, 'utf8') : want)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('produces the same bytes for ASCII ids, the fast path (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 12 }),
        fc.array(fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ minLength: 1, maxLength: 4, unit: 'binary' })), {
          minLength: 1,
          maxLength: 300,
        }),
        fc.string({ maxLength: 20 }),
        (head, ids, tail) => {
          const want = new Command(
            'MGET',
            ids.map((id) => head + id + tail),
          ).toWritable({});
          const got = encodeMget({ head, ids, tail });
          expect(Buffer.from(got).equals(typeof want === 'string' ? Buffer.from(want, 'utf8') : want)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('encodes several commands back to back without overwriting earlier ones (slab carving)', () => {
    const a = encodeMget({ head: 'rs:f:i:{', ids: ['a', 'b'], tail: '}:g' });
    const copy = Buffer.from(a);
    for (let i = 0; i < 200; i++)
      encodeMget({ head: 'rs:f:i:{', ids: Array.from({ length: 200 }, (_, k) => `id-${i}-${k}`), tail: '}:g~p' });
    expect(a.equals(copy)).toBe(true);
    expect(a.toString('latin1')).toBe('*3\r\n$4\r\nMGET\r\n$12\r\nrs:f:i:{a}:g\r\n$12\r\nrs:f:i:{b}:g\r\n');
  });
});
