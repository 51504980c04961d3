import { createSocket } from 'node:dgram';
import dnsPacket from '#dns-packet';
import { DnsError, type DnsErrorReason } from './errors.js';
import { checkReply, type PreparedQuery, type Reply } from './message.js';
import { canonicalAddress, type Server } from './servers.js';
import type { ResolverStats } from './types.js';

/** Limits of one network exchange. */
export interface ExchangeLimits {
  /** Give up after this many ms. */
  timeoutMs: number;
  /** Reason reported when `timeoutMs` runs out: `deadline` when the caller's deadline set it. */
  expiryReason: Extract<DnsErrorReason, 'timeout' | 'deadline'>;
}

/**
 * What {@link udpExchange} resolves to when a datagram from the server, with the query's ID and
 * question, had the name in other letter case than sent (DNS 0x20): the server (or a forwarder in
 * front of it) does not preserve case, or a spoofer who guessed port and ID sent it. Its content
 * is not used; the caller asks again where a spoofer cannot answer.
 */
export const CASE_MISMATCH: unique symbol = Symbol('case mismatch');

/**
 * Sends `query` to `server` over UDP from a fresh socket (OS-chosen random source port) and
 * waits for the reply. Datagrams from another address or port, with another ID or question,
 * or that do not decode are dropped and counted, and the wait goes on: an off-path spoofer must
 * not be able to end the exchange early unless it has guessed port and ID. One that is right in
 * all but the name's letter case ends it with {@link CASE_MISMATCH}: waiting on would only run
 * into the timeout behind a server that lower-cases every reply. If only undecodable replies
 * came, the failure is `malformed` rather than `timeout`.
 */
export const udpExchange = (
  server: Server,
  query: PreparedQuery,
  limits: ExchangeLimits,
  stats: ResolverStats,
): Promise<Reply | typeof CASE_MISMATCH> =>
  new Promise((resolve, reject) => {
    const socket = createSocket(server.family === 6 ? 'udp6' : 'udp4');
    let settled = false;
    let sawMalformed = false;
    const finish = (error: DnsError | undefined, packet?: Reply | typeof CASE_MISMATCH): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      if (error !== undefined) reject(error);
      else resolve(packet!);
    };
    const timer = setTimeout(() => {
      const reason = sawMalformed ? 'malformed' : limits.expiryReason;
      finish(
        new DnsError(reason, `no acceptable UDP reply within ${limits.timeoutMs} ms`, {
          server: server.label,
        }),
      );
    }, limits.timeoutMs);
    socket.on('error', (cause) => {
      finish(new DnsError('network', 'UDP socket error', { server: server.label, cause }));
    });
    socket.on('message', (message, from) => {
      if (from.port !== server.port || canonicalAddress(from.address) !== server.address) {
        stats.repliesDropped++;
        return;
      }
      const check = checkReply(message, query);
      if (!check.ok) {
        stats.repliesDropped++;
        if (check.reason === 'case') {
          stats.caseMismatches++;
          finish(undefined, CASE_MISMATCH);
        }
        if (check.reason === 'undecodable') sawMalformed = true;
        return;
      }
      finish(undefined, check.packet);
    });
    // An unbound socket is bound by send() to port 0: the OS picks a random source port.
    const sendFailed = (cause: unknown) =>
      finish(new DnsError('network', 'UDP send failed', { server: server.label, cause }));
    try {
      stats.queriesSent++;
      socket.send(dnsPacket.encode(query.packet), server.port, server.address, (cause) => {
        if (cause) sendFailed(cause);
      });
    } catch (cause) {
      sendFailed(cause);
    }
  });
