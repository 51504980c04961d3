export { type CapturedOutput, captureOutput } from './capture-output.js';
export {
  albHeaderValue,
  apiGatewayClientCert,
  createTestCertificate,
  type TestCertificate,
} from './test-certificate.js';
export { createTestIdentity, type TestIdentity } from './test-identity.js';
