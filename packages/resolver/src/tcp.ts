import { connect } from 'node:net';
import dnsPacket from '#dns-packet';
import { DnsError } from './errors.js';
import { checkReply, type PreparedQuery, type Reply } from './message.js';
import type { Server } from './servers.js';
import type { ResolverStats } from './types.js';
import type { ExchangeLimits } from './udp.js';

/**
 * Sends `query` to `server` over TCP with 2-byte length framing (RFC 1035 §4.2.2; RFC 7766) and
 * waits for the matching reply. Messages with another ID or question are dropped and counted.
 */
export const tcpExchange = (
  server: Server,
  query: PreparedQuery,
  limits: ExchangeLimits,
  stats: ResolverStats,
): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const socket = connect({ host: server.address, port: server.port, family: server.family, noDelay: true });
    let settled = false;
    let sawMalformed = false;
    let buffered: Buffer = Buffer.alloc(0);
    const finish = (error: DnsError | undefined, packet?: Reply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error !== undefined) reject(error);
      else resolve(packet!);
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
          finish(undefined, check.packet);
        } else {
          stats.repliesDropped++;
          if (check.reason === 'undecodable') sawMalformed = true;
        }
      }
    });
  });
