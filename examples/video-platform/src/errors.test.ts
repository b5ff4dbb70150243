import { join } from 'node:path';
import { codesInErrorsDoc } from '@recspine/core/testing';
import { describe, expect, it } from 'vitest';
import { VideoPlatformErrors } from './errors.js';

const DOC = join(__dirname, '../../../docs/errors.md');

describe('VideoPlatformErrors', () => {
  describe('registry ↔ docs/errors.md', () => {
    it('lists every registry code in the docs with its category, and nothing more', () => {
      const doc = codesInErrorsDoc(DOC, '@recspine/example-video-platform');
      const fromDoc = new Map(doc.map((r) => [r.code, r.category]));
      const fromRegistry = new Map(Object.entries(VideoPlatformErrors.registry).map(([c, d]) => [c, d.category]));
      expect(fromDoc).toEqual(fromRegistry);
    });
  });
  describe('create', () => {
    it('carries code, category, stage and field', () => {
      const e = VideoPlatformErrors.create('RECSPINE_ERR_VP_WORLD_CONFIG', 'bad', { field: 'users', stage: 'world' });
      expect(e).toMatchObject({ code: 'RECSPINE_ERR_VP_WORLD_CONFIG', category: 'client', field: 'users', stage: 'world' });
    });
  });
});
