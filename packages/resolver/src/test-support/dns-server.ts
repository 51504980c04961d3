import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createServer, type Server as TcpServer, type Socket as TcpSocket } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type SoaData } from '#dns-packet';
import { txtStrings } from './txt.js';

/** A record the test server serves. */
export interface TestRecord {
  /**
   * Owner name, any case, trailing dot optional. `*.<name>` is a wildcard (RFC 4592): it answers
   * for names below `<name>` that have no records of their own, with the queried name as owner.
   */
  name: string;
  type: 'TXT' | 'CNAME' | 'A' | 'AAAA' | 'SOA';
  /** Seconds; default 60. */
  ttl?: number;
  /**
   * TXT: a text (auto-split into ≤ 255-byte strings) or the explicit strings of the RR.
   * CNAME: the target. A/AAAA: the address. SOA: `"mname rname serial refresh retry expire minimum"`.
   */
  data: string | string[];
}

/** Behaviour switches, changeable while the server runs. */
export interface TestDnsBehaviour {
  /** Wait this long before answering, ms. */
  delayMs?: number;
  /** Receive queries but never answer. */
  drop?: boolean;
  /** Answer every query with this failure code. */
  rcode?: 'SERVFAIL' | 'REFUSED' | undefined;
  /** Truncate UDP answers larger than this many bytes (in addition to the client's EDNS size). */
  truncateUdpAbove?: number;
  /** Set the AD bit on answers. */
  ad?: boolean;
  /**
   * Echo the question (and the queried name's own records) in lower case, not as received: a
   * forwarder that rebuilds the question from a parsed, lower-cased name (AdGuard Home, NetBird,
   * routedns). `true` on both transports, `'udp'` on UDP only.
   */
  lowerCaseQuestion?: boolean | 'udp';
  /** Close every TCP connection as soon as it opens: a forwarder that serves UDP only. */
  refuseTcp?: boolean;
}

/** Options of {@link startTestDnsServer}. */
export interface TestDnsServerOptions {
  /** Zone whose SOA goes into negative answers. Default `nhi.test`. */
  zone?: string;
  /** Initial records. Default none. */
  records?: TestRecord[];
  /** Delay before each answer, ms. Default 0. */
  delayMs?: number;
  /** Loopback address to listen on. Default `127.0.0.1`. */
  address?: '127.0.0.1' | '::1';
  /** Port for UDP and TCP; 0 picks a free one. Default 0. */
  port?: number;
  /** Set the AD bit on answers. Default false. */
  ad?: boolean;
  /** MINIMUM field of the zone SOA (the SOA's own TTL is 900, as Route 53's). Default 900. */
  soaMinimum?: number;
}

/** One query the server received. */
export interface ReceivedQuery {
  /** The question name, canonical (lower case, no trailing dot). */
  name: string;
  /** The question name exactly as received (letter case kept: DNS 0x20), which the answer echoes. */
  wireName: string;
  type: string;
  transport: 'udp' | 'tcp';
  dnssec: boolean;
  /** The query's ID. */
  id: number;
  /** The client's source port. */
  port: number;
}

/** A running test server. */
export interface TestDnsServer {
  address: string;
  port: number;
  /** `address:port` (IPv6 in brackets), ready for `createResolver({ servers: [server] })`. */
  server: string;
  /** Replaces every record. */
  setRecords(records: TestRecord[]): void;
  /** Adds one record. */
  addRecord(record: TestRecord): void;
  /** Removes the records at `name` (of `type` only, when given). */
  removeRecords(name: string, type?: string): void;
  /** Merges behaviour switches into the current ones. */
  setBehaviour(behaviour: TestDnsBehaviour): void;
  /** Every query received, in order. */
  readonly queries: ReceivedQuery[];
  /** Closes the sockets and every open connection; pending delayed answers are dropped. */
  stop(): Promise<void>;
}

/** Low four bits of the header flags: dns-packet's encoder ignores a packet's `rcode` field. */
const RCODE_BITS = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;
/** RFC 1035 limit for UDP answers to queries without EDNS. */
const CLASSIC_UDP_LIMIT = 512;
const MAX_CHASE = 16;

const canonical = (name: string): string => {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
};

const toAnswer = (record: TestRecord): Answer => {
  const name = canonical(record.name);
  const ttl = record.ttl ?? 60;
  switch (record.type) {
    case 'TXT':
      return { name, type: 'TXT', class: 'IN', ttl, data: txtStrings(record.data) };
    case 'SOA': {
      const fields = (Array.isArray(record.data) ? record.data.join(' ') : record.data).trim().split(/\s+/);
      const [mname = '', rname = '', ...numbers] = fields;
      const [serial, refresh, retry, expire, minimum] = numbers.map(Number);
      const data: SoaData = { mname, rname, serial, refresh, retry, expire, minimum };
      return { name, type: 'SOA', class: 'IN', ttl, data };
    }
    default: {
      const data = Array.isArray(record.data) ? (record.data[0] ?? '') : record.data;
      return { name, type: record.type, class: 'IN', ttl, data };
    }
  }
};

const responseOpt = (flags: number): Answer => ({
  type: 'OPT',
  name: '.',
  udpPayloadSize: 1232,
  extendedRcode: 0,
  ednsVersion: 0,
  flags,
  flag_do: (flags & dnsPacket.DNSSEC_OK) !== 0,
  options: [],
});

const listenUdp = (socket: Socket, port: number, address: string): Promise<void> =>
  new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });

const listenTcp = (server: TcpServer, port: number, address: string): Promise<void> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });

/**
 * Starts an authoritative DNS server on loopback, UDP and TCP on one port, built on dns-packet.
 * Names without records get NXDOMAIN with the zone SOA (NODATA when the name has other types);
 * CNAMEs are chased within the records; wildcards expand; UDP answers larger than the client's
 * EDNS payload size (512 without EDNS) come back truncated (TC=1, no records), as a real server
 * does. The question is echoed as received, letter case included, and records owned by the
 * queried name carry its case too (as a server compressing them to the question does).
 */
export const startTestDnsServer = (options: TestDnsServerOptions = {}): Promise<TestDnsServer> =>
  startServer(options, 0);

const startServer = async (options: TestDnsServerOptions, portRetries: number): Promise<TestDnsServer> => {
  const zone = canonical(options.zone ?? 'nhi.test');
  const address = options.address ?? '127.0.0.1';
  const zoneSoa: Answer = {
    name: zone,
    type: 'SOA',
    class: 'IN',
    ttl: 900,
    data: {
      mname: `ns1.${zone}`,
      rname: `hostmaster.${zone}`,
      serial: 1,
      refresh: 7200,
      retry: 900,
      expire: 1_209_600,
      minimum: options.soaMinimum ?? 900,
    },
  };
  let records: Answer[] = (options.records ?? []).map(toAnswer);
  let behaviour: TestDnsBehaviour = { delayMs: options.delayMs ?? 0, ad: options.ad ?? false };
  const queries: ReceivedQuery[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const connections = new Set<TcpSocket>();

  const soa = (): Answer => records.find((r) => r.type === 'SOA' && r.name === zone) ?? zoneSoa;

  /**
   * The records at `name`: its own, else those of the wildcard at its closest existing ancestor
   * (RFC 4592, without empty non-terminals), owned by `owner` (the name in the case asked).
   */
  const recordsAt = (name: string, owner: string): Answer[] => {
    const own = records.filter((r) => r.name === name);
    if (own.length > 0) return own;
    for (let ancestor = name; ancestor.includes('.'); ) {
      ancestor = ancestor.slice(ancestor.indexOf('.') + 1);
      const wildcard = records.filter((r) => r.name === `*.${ancestor}`);
      if (wildcard.length > 0) return wildcard.map((r) => ({ ...r, name: owner }));
      if (records.some((r) => r.name === ancestor)) break;
    }
    return [];
  };

  /** The response to `query`, or undefined when it gets none. */
  const respond = (query: DecodedPacket, transport: 'udp' | 'tcp'): Packet | undefined => {
    const asked = query.questions?.[0];
    if (query.type !== 'query' || query.questions?.length !== 1 || asked === undefined) return undefined;
    const opt = query.additionals?.find((record) => record.type === 'OPT');
    const qname = canonical(asked.name);
    const lower = behaviour.lowerCaseQuestion;
    const question =
      lower === true || (lower === 'udp' && transport === 'udp') ? { ...asked, name: qname } : asked;
    const base = {
      type: 'response' as const,
      id: query.id ?? 0,
      questions: [question],
      additionals: opt?.type === 'OPT' ? [responseOpt(opt.flags & dnsPacket.DNSSEC_OK)] : [],
    };
    const flags =
      dnsPacket.AUTHORITATIVE_ANSWER |
      ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) |
      (behaviour.ad ? dnsPacket.AUTHENTIC_DATA : 0);
    if (behaviour.rcode !== undefined) return { ...base, flags: flags | RCODE_BITS[behaviour.rcode] };

    const answers: Answer[] = [];
    const visited = new Set<string>();
    let current = qname;
    for (let hop = 0; hop < MAX_CHASE && !visited.has(current); hop++) {
      visited.add(current);
      // The queried name's own records go out in the case it was asked in.
      const here = recordsAt(current, current === qname ? question.name : current).map((r) =>
        current === qname ? { ...r, name: question.name } : r,
      );
      const found = here.filter((r) => r.type === question.type);
      if (found.length > 0) {
        answers.push(...found);
        return { ...base, flags, answers };
      }
      const alias = here.find((r) => r.type === 'CNAME');
      if (alias === undefined || alias.type !== 'CNAME' || question.type === 'CNAME') break;
      answers.push(alias);
      current = canonical(alias.data);
    }
    const exists = recordsAt(current, current).length > 0;
    const rcode = exists ? RCODE_BITS.NOERROR : RCODE_BITS.NXDOMAIN;
    return { ...base, flags: flags | rcode, answers, authorities: [soa()] };
  };

  const udp = createSocket(address === '::1' ? 'udp6' : 'udp4');
  const tcp = createServer((connection) => {
    if (behaviour.refuseTcp) {
      connection.destroy();
      return;
    }
    connections.add(connection);
    let buffered: Buffer = Buffer.alloc(0);
    connection.on('close', () => connections.delete(connection));
    connection.on('error', () => connection.destroy());
    connection.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const message = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + message.length);
        handle(message, 'tcp', connection.remotePort ?? 0, (response) => {
          if (!connection.destroyed) connection.write(dnsPacket.streamEncode(response));
        });
      }
    });
  });

  const handle = (
    message: Buffer,
    transport: 'udp' | 'tcp',
    port: number,
    send: (response: Packet) => void,
  ) => {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (question !== undefined) {
      const opt = query.additionals?.find((record) => record.type === 'OPT');
      queries.push({
        name: canonical(question.name),
        wireName: question.name,
        type: question.type,
        transport,
        dnssec: opt?.type === 'OPT' && (opt.flags & dnsPacket.DNSSEC_OK) !== 0,
        id: query.id ?? 0,
        port,
      });
    }
    if (behaviour.drop) return;
    const response = respond(query, transport);
    if (response === undefined) return;
    const delay = behaviour.delayMs ?? 0;
    if (delay <= 0) {
      send(response);
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      send(response);
    }, delay);
    timers.add(timer);
  };

  udp.on('message', (message: Buffer, from: RemoteInfo) => {
    handle(message, 'udp', from.port, (response) => {
      const opt = (dnsPacket.decode(message).additionals ?? []).find((record) => record.type === 'OPT');
      let limit = opt?.type === 'OPT' ? Math.max(CLASSIC_UDP_LIMIT, opt.udpPayloadSize) : CLASSIC_UDP_LIMIT;
      if (behaviour.truncateUdpAbove !== undefined) limit = Math.min(limit, behaviour.truncateUdpAbove);
      let wire = dnsPacket.encode(response);
      if (wire.length > limit) {
        wire = dnsPacket.encode({
          ...response,
          flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
          answers: [],
          authorities: [],
        });
      }
      udp.send(wire, from.port, from.address);
    });
  });
  udp.on('error', () => {});

  await listenUdp(udp, options.port ?? 0, address);
  const port = udp.address().port;
  try {
    await listenTcp(tcp, port, address);
  } catch (error) {
    udp.close();
    // UDP picked a port that another socket holds on TCP (busy loopback tests: SDK and HTTP
    // clients, dynalite): pick again, random ports only.
    if ((options.port ?? 0) !== 0 || portRetries >= 20) throw error;
    return startServer(options, portRetries + 1);
  }

  return {
    address,
    port,
    server: address === '::1' ? `[::1]:${port}` : `${address}:${port}`,
    queries,
    setRecords(next) {
      records = next.map(toAnswer);
    },
    addRecord(record) {
      records = [...records, toAnswer(record)];
    },
    removeRecords(name, type) {
      const owner = canonical(name);
      records = records.filter(
        (r) => r.name !== owner || (type !== undefined && r.type !== type.toUpperCase()),
      );
    },
    setBehaviour(next) {
      behaviour = { ...behaviour, ...next };
    },
    stop: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const connection of connections) connection.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
};
