import { join } from 'node:path';
import { codesInErrorsDoc } from '@recspine/core/testing';
import { describe, expect, it } from 'vitest';
import { RetrievalErrors } from './errors.js';

const DOC = join(__dirname, '../../../docs/errors.md');

describe('RetrievalErrors', () => {
  describe('registry ↔ docs/errors.md', () => {
    it('lists every registry code in the docs with its category, and nothing more', () => {
      const doc = codesInErrorsDoc(DOC, '@recspine/retrieval');
      const fromDoc = new Map(doc.map((r) => [r.code, r.category]));
      const fromRegistry = new Map(Object.entries(RetrievalErrors.registry).map(([c, d]) => [c, d.category]));
      expect(fromDoc).toEqual(fromRegistry);
    });
  });

  describe('create', () => {
    it('carries code, category, stage and cause', () => {
      const cause = new Error('native');
      const e = RetrievalErrors.create('RECSPINE_ERR_ANN_BACKEND', 'boom', { stage: 'retrieval/ann/usearch', cause });
      expect(e).toMatchObject({ code: 'RECSPINE_ERR_ANN_BACKEND', category: 'dependency', stage: 'retrieval/ann/usearch' });
      expect(e.cause).toBe(cause);
    });
  });
});
