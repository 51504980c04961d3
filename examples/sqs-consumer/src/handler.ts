/** Lambda entry point: configuration from `NHI_*` environment variables (see consumer.ts). */
import { configFromEnv, createConsumerHandler } from './consumer.js';

/** Lambda entry point. */
export const handler = createConsumerHandler(configFromEnv());
