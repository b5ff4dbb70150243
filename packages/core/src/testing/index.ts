// @recspine/core/testing — helpers for RecSpine packages' own tests (no runtime use).
export { codesInErrorsDoc } from './errorsDoc.js';
