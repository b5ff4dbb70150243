import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CoreErrors, RecSpineError, defineErrors, isRecSpineError } from './errors.js';
import { codesInErrorsDoc } from './testing/errorsDoc.js';

const DOC = join(__dirname, '../../../docs/errors.md');

describe('CoreErrors', () => {
  describe('registry ↔ docs/errors.md', () => {
    it('lists every registry code in the docs with its category, and nothing more', () => {
      const doc = codesInErrorsDoc(DOC, '@recspine/core');
      const fromDoc = new Map(doc.map((r) => [r.code, r.category]));
      const fromRegistry = new Map(Object.entries(CoreErrors.registry).map(([c, d]) => [c, d.category]));
      expect(fromDoc).toEqual(fromRegistry);
    });
  });

  describe('docs/errors.md as a whole', () => {
    it('lists every code once across all packages (codes are unique repo-wide)', async () => {
      const { readFileSync } = await import('node:fs');
      const codes = [...readFileSync(DOC, 'utf8').matchAll(/^\|\s*`(RECSPINE_ERR_[A-Z0-9_]+)`/gm)].map((m) => m[1]);
      const dupes = codes.filter((c, i) => codes.indexOf(c) !== i);
      expect(dupes).toEqual([]);
      expect(codes.length).toBeGreaterThan(Object.keys(CoreErrors.registry).length);
    });
  });

  describe('create', () => {
    it('carries code, category, stage, field and cause', () => {
      const cause = new Error('boom');
      const e = CoreErrors.create('RECSPINE_ERR_INVALID_REQUEST', 'bad limit', { field: 'limit', stage: 'homepage', cause });
      expect(e).toBeInstanceOf(RecSpineError);
      expect(e.code).toBe('RECSPINE_ERR_INVALID_REQUEST');
      expect(e.category).toBe('client');
      expect(e.field).toBe('limit');
      expect(e.stage).toBe('homepage');
      expect(e.cause).toBe(cause);
      expect(e.toJSON()).toMatchObject({ code: 'RECSPINE_ERR_INVALID_REQUEST', field: 'limit', cause: 'boom' });
      expect(isRecSpineError(e)).toBe(true);
      expect(isRecSpineError(new Error('x'))).toBe(false);
    });
  });

  describe('defineErrors', () => {
    it('rejects codes outside the RECSPINE_ERR_ namespace', () => {
      expect(() => defineErrors({ BAD: { category: 'client', description: 'x' } })).toThrow(/RECSPINE_ERR_/);
    });
  });
});
