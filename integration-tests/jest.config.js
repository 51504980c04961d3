// Integration tests: real knot + unbound on loopback (see setup/install.sh and src/lab/).
// Every suite starts its own DNS lab in beforeAll (startDnsLab), which fails the suite with
// install instructions when knot/unbound/ldns are missing: never a silent skip.
// One worker: labs are cheap (~0.5 s) but the machine may have only 2 cores.
import { fileURLToPath } from 'node:url';
import { baseProject } from '../jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...baseProject,
  displayName: 'integration',
  rootDir: fileURLToPath(new URL('.', import.meta.url)),
  testMatch: ['<rootDir>/src/**/*.test.ts'],
  testTimeout: 30_000,
  maxWorkers: 1,
};
