export { type CapturedOutput, captureOutput } from './capture-output.js';
export { createTestIdentity, type TestIdentity } from './test-identity.js';
