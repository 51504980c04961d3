import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadResolvConf, parseResolvConf } from './resolv-conf.js';

describe('parseResolvConf', () => {
  it('reads nameservers in order and the timeout/attempts options', () => {
    const text = [
      '# generated',
      'search example.com',
      'nameserver 10.0.0.2',
      '  nameserver   fd00::53  # comment',
      'nameserver not-an-ip',
      '; nameserver 10.9.9.9',
      'options ndots:2 timeout:3 attempts:4 rotate',
    ].join('\n');
    expect(parseResolvConf(text)).toEqual({
      nameservers: ['10.0.0.2', 'fd00::53'],
      timeoutMs: 3000,
      attempts: 4,
    });
  });

  it('clamps options as glibc does and ignores bad values', () => {
    expect(parseResolvConf('options timeout:99 attempts:9')).toEqual({
      nameservers: [],
      timeoutMs: 30_000,
      attempts: 5,
    });
    expect(parseResolvConf('options timeout:0 attempts:0')).toEqual({
      nameservers: [],
      timeoutMs: 1000,
      attempts: 1,
    });
    expect(parseResolvConf('options timeout:x attempts: timeout')).toEqual({ nameservers: [] });
    expect(parseResolvConf('\r\n\u0000garbage\r\nnameserver 127.0.0.1\r\n').nameservers).toEqual([
      '127.0.0.1',
    ]);
  });
});

describe('loadResolvConf', () => {
  it('reads a file and treats a missing one as empty', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'resolv-'));
    try {
      const path = join(dir, 'resolv.conf');
      await writeFile(path, 'nameserver 192.0.2.53\n');
      expect(await loadResolvConf(path)).toEqual({ nameservers: ['192.0.2.53'] });
      expect(await loadResolvConf(join(dir, 'missing'))).toEqual({ nameservers: [] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
