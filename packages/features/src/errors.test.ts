import { join } from 'node:path';
import { codesInErrorsDoc } from '@recspine/core/testing';
import { isRecSpineError } from '@recspine/core';
import { describe, expect, it } from 'vitest';
import { FeaturesErrors } from './errors.js';

const DOC = join(__dirname, '../../../docs/errors.md');

describe('FeaturesErrors', () => {
  describe('registry ↔ docs/errors.md', () => {
    it('lists every registry code in the docs with its category, and nothing more', () => {
      const doc = codesInErrorsDoc(DOC, '@recspine/features');
      const fromDoc = new Map(doc.map((r) => [r.code, r.category]));
      const fromRegistry = new Map(Object.entries(FeaturesErrors.registry).map(([c, d]) => [c, d.category]));
      expect(fromDoc).toEqual(fromRegistry);
    });
  });

  describe('create', () => {
    it('carries code, category, stage, field and cause', () => {
      const cause = new Error('boom');
      const e = FeaturesErrors.create('RECSPINE_ERR_EVENT_INVALID', 'bad type', { field: 'type', stage: 's', cause });
      expect(isRecSpineError(e)).toBe(true);
      expect(e.code).toBe('RECSPINE_ERR_EVENT_INVALID');
      expect(e.category).toBe('client');
      expect(e.field).toBe('type');
      expect(e.stage).toBe('s');
      expect(e.cause).toBe(cause);
    });
  });
});
