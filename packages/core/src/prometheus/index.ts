export { PrometheusMetricsSink } from './PrometheusMetricsSink.js';
export type { PrometheusSinkOptions } from './PrometheusMetricsSink.js';
