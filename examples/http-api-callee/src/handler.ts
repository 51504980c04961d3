/** Lambda entry point: configuration from `NHI_*` environment variables (see callee.ts). */
import { configFromEnv, createCalleeHandler } from './callee.js';

/** Lambda entry point. */
export const handler = createCalleeHandler(configFromEnv());
