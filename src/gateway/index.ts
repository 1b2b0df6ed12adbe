/** keyward gateway: the backend proxy that keeps provider keys server-side. */
export { createGateway, type GatewayOptions, type GatewayHandler, type AppChatPolicy } from './server.js';
export { expressGateway, fastifyGateway, type AdapterOptions } from './adapters.js';
export { issueToken, verifyToken, hashToken, type IssueOptions } from './tokens.js';
export { readEnvFile, upstreamFromEnv, type UpstreamConfig } from './env.js';
export { batchedDestination, createLogger, LOG_BATCH_BYTES, REDACT_PATHS, type LoggerOptions } from './logger.js';
export { Prices, DEFAULT_PRICES, FALLBACK_PRICE, type ModelPrice, type PriceTable } from './providers/prices.js';
export type { Alert, AlertOptions } from './alerts.js';
export type { AnomalyOptions } from './anomaly.js';
export type { JwtOptions } from './auth.js';
export type { ResilienceOptions } from './upstream.js';
export type { BreakerOptions, KeyChange } from './keys.js';
export { seedBudgets, ledgerSpend, type IpLimits, type GlobalBudget } from './policy.js';
export { keepSharedBudgets, type SharedBudgetsOptions, type EpochLedger } from './shared-budgets.js';
export { loadGatewayConfig, type GatewayConfigFile } from './config.js';
export { GatewayMetrics, MAX_MODELS, type AttemptResult } from './metrics.js';
export { metricsEndpoint, MIN_METRICS_TOKEN, type MetricsEndpointOptions } from './metrics-endpoint.js';
export * from '../store/index.js';
