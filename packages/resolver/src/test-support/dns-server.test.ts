import { createSocket } from 'node:dgram';
import { Resolver as NodeResolver } from 'node:dns/promises';
import dnsPacket, { type DecodedPacket } from 'dns-packet';
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

  it('echoes the question as received, letter case included, and expands wildcards', async () => {
    server.addRecord({ name: '*.prod.nhi.test', type: 'TXT', data: 'wild' });
    server.addRecord({ name: 'exact.prod.nhi.test', type: 'TXT', data: 'exact' });
    const ask = async (name: string): Promise<{ wire: Buffer; packet: DecodedPacket }> => {
      const client = createSocket('udp4');
      try {
        const reply = new Promise<Buffer>((resolve) => client.once('message', resolve));
        client.send(
          dnsPacket.encode({ type: 'query', id: 7, questions: [{ name, type: 'TXT' }] }),
          server.port,
          '127.0.0.1',
        );
        const wire = await reply;
        return { wire, packet: dnsPacket.decode(wire) };
      } finally {
        client.close();
      }
    };
    const { wire, packet } = await ask('Made-Up.PROD.nhi.TEST');
    // The question section, right after the header, is the query's own bytes.
    const question = dnsPacket.encode({
      type: 'query',
      id: 7,
      questions: [{ name: 'Made-Up.PROD.nhi.TEST', type: 'TXT' }],
    });
    expect(wire.subarray(12, question.length)).toEqual(question.subarray(12));
    expect(packet.answers).toMatchObject([{ name: 'Made-Up.PROD.nhi.TEST', type: 'TXT' }]);
    expect(server.queries.at(-1)).toMatchObject({
      name: 'made-up.prod.nhi.test',
      wireName: 'Made-Up.PROD.nhi.TEST',
    });
    expect(await node().resolveTxt('a.b.prod.nhi.test')).toEqual([['wild']]); // closest encloser prod.nhi.test
    expect(await node().resolveTxt('exact.prod.nhi.test')).toEqual([['exact']]);
    await expect(node().resolveTxt('x.exact.prod.nhi.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(node().resolveTxt('x.other.nhi.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});
