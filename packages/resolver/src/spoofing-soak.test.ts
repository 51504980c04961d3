// Spoofing soak (SECURITY.md): a short run here; `npm run fuzz` runs it longer (fuzz/run.ts).
import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Socket as TcpSocket } from 'node:net';
import dnsPacket from 'dns-packet';
import { runSpoofingSoak } from '../../../fuzz/spoofing.js';
import { caseRandomizationBits } from './message.js';
import { createResolver } from './resolver.js';

describe('spoofing soak on loopback', () => {
  it('accepts none of thousands of forged replies while real lookups run', async () => {
    const report = await runSpoofingSoak({ durationMs: 2000, concurrency: 4 });
    expect(report.forgedAccepted).toBe(0);
    expect(report.lookups).toBeGreaterThan(50);
    // Every kind of forgery was tried, many times over.
    expect(report.forgedSent.randomId).toBeGreaterThan(500);
    expect(report.forgedSent.wrongQuestion).toBeGreaterThan(500);
    expect(report.forgedSent.wrongPort).toBeGreaterThan(500);
    // The resolver saw (and dropped) the forgeries that reached its socket before the real reply.
    expect(report.repliesDropped).toBeGreaterThan(report.forgedSent.total / 4);
  }, 20_000);
});

/** A guess of the letter case of `name`: one crypto-random bit per letter, as the forger must. */
const guessCase = (name: string): string => {
  const bits = randomBytes(32);
  let at = 0;
  return name.replace(/[a-z]/gi, (c) => {
    const upper = (bits[at >> 3]! >> (at++ & 7)) & 1;
    return upper ? c.toUpperCase() : c.toLowerCase();
  });
};

const txtReply = (id: number, name: string, text: string): Buffer =>
  dnsPacket.encode({
    type: 'response',
    id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ name, type: 'TXT', class: 'IN' }],
    answers: [{ name, type: 'TXT', class: 'IN', ttl: 60, data: [Buffer.from(text)] }],
  });

/**
 * The real server over TCP, on `port`: it echoes the question as received. An off-path spoofer
 * cannot answer there, so no forgery goes out on it.
 */
const serveTcp = async (port: number) => {
  const connections = new Set<TcpSocket>();
  const server = createServer((connection) => {
    connections.add(connection);
    connection.on('close', () => connections.delete(connection));
    connection.on('error', () => connection.destroy());
    connection.on('data', (chunk: Buffer) => {
      const query = dnsPacket.streamDecode(chunk);
      const asked = query.questions![0]!.name;
      const answer = txtReply(query.id!, asked, 'REAL');
      connection.write(Buffer.concat([Buffer.from([answer.length >> 8, answer.length & 0xff]), answer]));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return () => {
    for (const connection of connections) connection.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
};

/**
 * A UDP socket on a random loopback port and, with `tcp`, the real server on TCP at the same port.
 * Another socket may hold the port UDP picked on TCP (busy loopback): then pick again.
 */
const bindUdpAndTcp = async (tcp: boolean): Promise<[UdpSocket, () => Promise<void>]> => {
  for (let attempt = 0; ; attempt++) {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    if (!tcp) return [socket, async () => undefined];
    try {
      return [socket, await serveTcp(socket.address().port)];
    } catch (error) {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      if (attempt >= 20) throw error;
    }
  }
};

/**
 * The off-path spoofer's best case: it has guessed the source port and the ID (here it simply
 * sends from the server's own socket, with the query's ID, before the real answer). Its forged
 * reply carries the right type and class and the name in a random case; only DNS 0x20 is left
 * between it and the cache. A wrong guess sends the query again over TCP, where the real server
 * answers (with `tcp: false`, a server without TCP: again over UDP in lower case, where the
 * forger, told port and ID again, wins). Returns how many of `trials` lookups took the forged answer.
 */
const forgeWithRightPortAndId = async (
  name: string,
  trials: number,
  { caseRandomization = true, tcp = true }: { caseRandomization?: boolean; tcp?: boolean } = {},
) => {
  const [socket, stopTcp] = await bindUdpAndTcp(tcp);
  let closed = false;
  socket.on('message', (message: Buffer, from: RemoteInfo) => {
    const query = dnsPacket.decode(message);
    const asked = query.questions![0]!.name;
    socket.send(txtReply(query.id!, guessCase(asked), 'FORGED'), from.port, from.address);
    // The real answer right behind it (loopback keeps the order): the forgery always arrives first.
    setImmediate(() => closed || socket.send(txtReply(query.id!, asked, 'REAL'), from.port, from.address));
  });
  const resolver = createResolver({
    servers: [`127.0.0.1:${socket.address().port}`],
    cache: false,
    timeout: 500,
    caseRandomization,
  });
  let forged = 0;
  try {
    for (let i = 0; i < trials; i++) {
      const { records } = await resolver.resolveTxt(name);
      if (records[0]?.[0] === 'FORGED') forged++;
    }
  } finally {
    closed = true;
    await Promise.all([new Promise<void>((resolve) => socket.close(() => resolve())), stopTcp()]);
  }
  return { forged, dropped: resolver.stats.repliesDropped };
};

describe('DNS 0x20: the bits an off-path spoofer must guess on top of port and ID', () => {
  it('costs one bit per letter of the name: measured with a forger that has port and ID right', async () => {
    const rows: string[] = [];
    const measure = async (name: string, trials: number) => {
      const letters = caseRandomizationBits(name);
      const { forged, dropped } = await forgeWithRightPortAndId(name, trials);
      const bits = forged === 0 ? `> ${Math.log2(trials).toFixed(1)}` : Math.log2(trials / forged).toFixed(2);
      rows.push(
        `${name.padEnd(30)} letters ${String(letters).padStart(2)}  forged accepted ${forged}/${trials}  measured bits ${bits}`,
      );
      return { forged, dropped, letters };
    };
    // No letters, no protection: with port and ID right the forger wins every time.
    expect((await measure('0-1.2-3.4-5', 300)).forged).toBe(300);
    // 3 and 6 letters: accepted at 2^-3 and 2^-6 (bounds at about ±3.5 standard deviations).
    const three = await measure('a1.b2.c3', 1000);
    expect(three.forged).toBeGreaterThan(125 - 37);
    expect(three.forged).toBeLessThan(125 + 37);
    expect(three.dropped).toBe(1000 - three.forged); // each wrong guess dropped and counted
    const six = await measure('ab1.cd2.ef3', 2000);
    expect(six.forged).toBeGreaterThan(31 - 20);
    expect(six.forged).toBeLessThan(31 + 20);
    // The identity names of the soak: 25 letters, 2^-25 per forged reply. Each of the 2000 wrong
    // guesses sent its query again over TCP, and none made the resolver give 0x20 up for the
    // server: the next query went in random case again (else the forger would win from then on).
    const real = await measure('billing.prod.auth.example.com', 2000);
    expect(real.letters).toBe(25);
    expect(real.forged).toBe(0);
    expect(real.dropped).toBe(2000);
    // Without 0x20 the same forger wins every time again.
    const off = await forgeWithRightPortAndId('billing.prod.auth.example.com', 200, {
      caseRandomization: false,
    });
    expect(off.forged).toBe(200);
    rows.push(`billing.prod.auth.example.com  caseRandomization: false  forged accepted ${off.forged}/200`);
    // A server without TCP: the retry in lower case is open to a forger who has port and ID right a
    // second time (here it always has): 0x20 then holds against one guess of port and ID, not two.
    const udpOnly = await forgeWithRightPortAndId('billing.prod.auth.example.com', 200, { tcp: false });
    expect(udpOnly.forged).toBe(200);
    rows.push(`billing.prod.auth.example.com  server without TCP      forged accepted ${udpOnly.forged}/200`);
    console.log(`DNS 0x20, forger with the right source port and ID:\n${rows.join('\n')}`);
  }, 60_000);
});
