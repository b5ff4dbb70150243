import { join } from 'node:path';
import { codesInErrorsDoc } from '@recspine/core/testing';
import { isRecSpineError } from '@recspine/core';
import { describe, expect, it } from 'vitest';
import { RankErrors } from './errors.js';

const DOC = join(__dirname, '../../../docs/errors.md');

describe('RankErrors', () => {
  describe('registry ↔ docs/errors.md', () => {
    it('lists every registry code in the docs with its category, and nothing more', () => {
      const doc = codesInErrorsDoc(DOC, '@recspine/rank');
      const fromDoc = new Map(doc.map((r) => [r.code, r.category]));
      const fromRegistry = new Map(Object.entries(RankErrors.registry).map(([c, d]) => [c, d.category]));
      expect(fromDoc).toEqual(fromRegistry);
    });
  });

  describe('create', () => {
    it('carries code, category, stage and cause', () => {
      const cause = new Error('boom');
      const e = RankErrors.create('RECSPINE_ERR_RANK_INFERENCE', 'x', { stage: 'homepage/fine', cause });
      expect(isRecSpineError(e)).toBe(true);
      expect(e.code).toBe('RECSPINE_ERR_RANK_INFERENCE');
      expect(e.category).toBe('dependency');
      expect(e.stage).toBe('homepage/fine');
      expect(e.cause).toBe(cause);
    });
  });
});
