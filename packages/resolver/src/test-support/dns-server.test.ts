import { Resolver as NodeResolver } from 'node:dns/promises';
import { startTestDnsServer, type TestDnsServer } from './dns-server.js';

// Node's own resolver (c-ares) is the second opinion that the test server speaks real DNS.
let server: TestDnsServer;
const node = () => {
  const resolver = new NodeResolver({ timeout: 300, tries: 1 });
  resolver.setServers([server.server]);
  return resolver;
};
beforeEach(async () => {
  server = await startTestDnsServer({
    records: [
      { name: 'multi.nhi.test', type: 'TXT', data: ['one', 'two'] },
      { name: 'big.nhi.test', type: 'TXT', data: 'x'.repeat(700) },
      { name: 'host.nhi.test', type: 'A', data: '192.0.2.7' },
      { name: 'www.nhi.test', type: 'CNAME', data: 'host.nhi.test' },
    ],
  });
});
afterEach(() => server.stop());

describe('startTestDnsServer', () => {
  it('answers TXT, A and CNAME chains as c-ares understands them', async () => {
    expect(await node().resolveTxt('multi.nhi.test')).toEqual([['one', 'two']]);
    expect((await node().resolveTxt('big.nhi.test'))[0]!.join('')).toBe('x'.repeat(700));
    expect(await node().resolve4('www.nhi.test')).toEqual(['192.0.2.7']);
    expect(server.queries.map((q) => `${q.name}/${q.type}/${q.transport}`)).toEqual([
      'multi.nhi.test/TXT/udp',
      'big.nhi.test/TXT/udp', // 700 bytes > c-ares's 512 without EDNS: truncated, then TCP
      'big.nhi.test/TXT/tcp',
      'www.nhi.test/A/udp',
    ]);
  });

  it('gives NXDOMAIN, NODATA and the configured failure codes', async () => {
    await expect(node().resolveTxt('missing.nhi.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(node().resolveTxt('host.nhi.test')).rejects.toMatchObject({ code: 'ENODATA' });
    server.setBehaviour({ rcode: 'SERVFAIL' });
    await expect(node().resolveTxt('multi.nhi.test')).rejects.toMatchObject({ code: 'ESERVFAIL' });
    server.setBehaviour({ rcode: 'REFUSED' });
    await expect(node().resolveTxt('multi.nhi.test')).rejects.toMatchObject({ code: 'EREFUSED' });
  });

  it('edits records while running', async () => {
    server.removeRecords('multi.nhi.test', 'txt');
    server.addRecord({ name: 'New.nhi.test.', type: 'TXT', data: 'fresh' });
    await expect(node().resolveTxt('multi.nhi.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(await node().resolveTxt('new.nhi.test')).toEqual([['fresh']]);
    server.setRecords([]);
    await expect(node().resolveTxt('new.nhi.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});
