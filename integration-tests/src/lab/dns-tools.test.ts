import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DNS_TOOLS, locateDnsTools } from './dns-tools.js';
import { LabError } from './lab-error.js';

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'nhi-dns-tools-'));
  // Only knot is "installed" here.
  for (const tool of ['knotd', 'knotc']) {
    await writeFile(join(directory, tool), '#!/bin/sh\n');
    await chmod(join(directory, tool), 0o755);
  }
  // Present but not executable: does not count.
  await writeFile(join(directory, 'unbound'), '');
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('locateDnsTools', () => {
  it('fails loudly, naming each missing tool, its package and the install script', () => {
    const failure = (() => {
      try {
        locateDnsTools([directory]);
        return undefined;
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(LabError);
    const message = (failure as LabError).message;
    expect(message).toContain('unbound (package unbound)');
    expect(message).toContain('ldns-keygen (package ldnsutils)');
    expect(message).toContain('ldns-signzone (package ldnsutils)');
    expect(message).not.toContain('knotd');
    expect(message).toContain('integration-tests/setup/install.sh');
  });

  it('finds every tool on this machine (run setup/install.sh otherwise)', () => {
    const tools = locateDnsTools();
    expect(Object.keys(tools).sort()).toEqual(Object.keys(DNS_TOOLS).sort());
  });
});
