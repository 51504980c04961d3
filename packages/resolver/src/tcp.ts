import { connect } from 'node:net';
import dnsPacket from '#dns-packet';
import { DnsError } from './errors.js';
import { checkReply, type PreparedQuery, type Reply } from './message.js';
import type { Server } from './servers.js';
import type { ResolverStats } from './types.js';
import type { ExchangeLimits } from './udp.js';

/** A reply had over TCP. */
export interface TcpReply {
  readonly packet: Reply;
  /**
   * The reply's question name differs from the query's in letter case alone (DNS 0x20). Accepted
   * over TCP, where an off-path spoofer cannot inject: it is proof that the server, or a forwarder
   * in front of it, does not preserve case.
   */
  readonly caseMismatch: boolean;
}

/**
 * Sends `query` to `server` over TCP with 2-byte length framing (RFC 1035 §4.2.2; RFC 7766) and
 * waits for the matching reply. Messages with another ID or question are dropped and counted; one
 * right in all but the name's letter case is accepted and flagged (see {@link TcpReply}).
 */
export const tcpExchange = (
  server: Server,
  query: PreparedQuery,
  limits: ExchangeLimits,
  stats: ResolverStats,
): Promise<TcpReply> =>
  new Promise((resolve, reject) => {
    const socket = connect({ host: server.address, port: server.port, family: server.family, noDelay: true });
    let settled = false;
    let sawMalformed = false;
    let buffered: Buffer = Buffer.alloc(0);
    const finish = (error: DnsError | undefined, reply?: TcpReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error !== undefined) reject(error);
      else resolve(reply!);
    };
    const fail = (reason: 'network' | 'malformed', message: string, cause?: unknown): void => {
      finish(new DnsError(sawMalformed ? 'malformed' : reason, message, { server: server.label, cause }));
    };
    const timer = setTimeout(() => {
      const reason = sawMalformed ? 'malformed' : limits.expiryReason;
      finish(
        new DnsError(reason, `no acceptable TCP reply within ${limits.timeoutMs} ms`, {
          server: server.label,
        }),
      );
    }, limits.timeoutMs);
    socket.on('error', (cause) => fail('network', 'TCP connection error', cause));
    socket.on('close', () => fail('network', 'TCP connection closed before a reply'));
    socket.on('connect', () => {
      stats.queriesSent++;
      socket.write(dnsPacket.streamEncode(query.packet));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      // A frame is at most 2 + 65535 bytes, so the buffer never holds more than one partial frame.
      while (!settled && buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        const message = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        const check = checkReply(message, query);
        if (check.ok) {
          finish(undefined, { packet: check.packet, caseMismatch: false });
        } else if (check.reason === 'case') {
          stats.caseMismatches++;
          finish(undefined, { packet: check.packet, caseMismatch: true });
        } else {
          stats.repliesDropped++;
          if (check.reason === 'undecodable') sawMalformed = true;
        }
      }
    });
  });
