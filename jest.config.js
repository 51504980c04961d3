// One jest project per workspace package (plus examples), all TypeScript ESM through ts-jest.
// Workspace imports (`@nhi-dns/<name>`) map to their sources, so tests never need a build.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Settings shared by every project (see ../shared notes: ESM + ts-jest). */
export const baseProject = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^@nhi-dns/([a-z-]+)$': join(root, 'packages/$1/src/index.ts'),
    '^@nhi-dns/([a-z-]+)/test-support$': join(root, 'packages/$1/src/test-support/index.ts'),
    '^@nhi-dns/core/replay-dynamodb$': join(root, 'packages/core/src/replay-dynamodb.ts'),
    // The resolver's sources import dns-packet through its package.json "imports" alias.
    '^#dns-packet$': 'dns-packet',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: join(root, 'tsconfig.jest.json') }],
  },
};

const packageProjects = readdirSync(join(root, 'packages'))
  .filter((name) => existsSync(join(root, 'packages', name, 'package.json')))
  .map((name) => ({
    ...baseProject,
    displayName: name,
    rootDir: join(root, 'packages', name),
    testMatch: ['<rootDir>/src/**/*.test.ts'],
  }));

/** @type {import('jest').Config} */
export default {
  projects: [
    ...packageProjects,
    {
      ...baseProject,
      displayName: 'examples',
      rootDir: join(root, 'examples'),
      testMatch: ['<rootDir>/**/src/**/*.test.ts', '<rootDir>/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    },
  ],
};
