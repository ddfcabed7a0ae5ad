export { type MetricsServer, MetricsServerError, serveMetrics } from './server.ts';
export { warehouseMetrics } from './warehouse-metrics.ts';
