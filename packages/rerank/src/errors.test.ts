import { join } from 'node:path';
import { isRecSpineError } from '@recspine/core';
import { codesInErrorsDoc } from '@recspine/core/testing';
import { describe, expect, it } from 'vitest';
import { RerankErrors } from './errors.js';

const DOC = join(__dirname, '../../../docs/errors.md');

describe('RerankErrors', () => {
  describe('registry ↔ docs/errors.md', () => {
    it('lists every registry code in the docs with its category, and nothing more', () => {
      const doc = codesInErrorsDoc(DOC, '@recspine/rerank');
      const fromDoc = new Map(doc.map((r) => [r.code, r.category]));
      const fromRegistry = new Map(Object.entries(RerankErrors.registry).map(([c, d]) => [c, d.category]));
      expect(fromDoc.size).toBeGreaterThan(0);
      expect(fromDoc).toEqual(fromRegistry);
    });
  });

  describe('create', () => {
    it('carries code, category, stage, field and cause', () => {
      const cause = new Error('boom');
      const e = RerankErrors.create('RECSPINE_ERR_RERANK_PARAM', 'bad', { stage: 'homepage/rerank/mmr', field: 'params.mmrLambda', cause });
      expect(isRecSpineError(e)).toBe(true);
      expect(e.code).toBe('RECSPINE_ERR_RERANK_PARAM');
      expect(e.category).toBe('client');
      expect(e.stage).toBe('homepage/rerank/mmr');
      expect(e.field).toBe('params.mmrLambda');
      expect(e.cause).toBe(cause);
    });
  });
});
