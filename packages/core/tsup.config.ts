import { packageBuild } from '../../tsup.base';

export default packageBuild({
  entry: { index: 'src/index.ts', 'prometheus/index': 'src/prometheus/index.ts', 'testing/index': 'src/testing/index.ts' },
  external: ['prom-client'],
});
