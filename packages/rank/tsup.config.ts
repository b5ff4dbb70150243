import { packageBuild } from '../../tsup.base';

// OnnxWorkerPool resolves onnxruntime-node with createRequire(import.meta.url); shims make that work in the CJS build.
export default packageBuild({ shims: true });
