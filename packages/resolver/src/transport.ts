import { DnsError } from './errors.js';
import { prepareQuery, type QuerySpec, type Reply } from './message.js';
import type { Server } from './servers.js';
import { tcpExchange } from './tcp.js';
import type { ResolverStats } from './types.js';
import { type ExchangeLimits, udpExchange } from './udp.js';

/** How hard to try. */
export interface RetryPolicy {
  servers: readonly Server[];
  /** Per-exchange timeout, ms. */
  timeoutMs: number;
  /** Rounds over all servers. */
  attempts: number;
  /** Absolute deadline, `Date.now()` based. */
  deadline?: number | undefined;
  /** DNS 0x20: send each query's name in random letter case and want it echoed exactly. */
  caseRandomization?: boolean;
}

/** A usable (NOERROR or NXDOMAIN) reply and how it was had. */
export interface ServerReply {
  packet: Reply;
  server: string;
  attempts: number;
}

const limitsFor = (policy: RetryPolicy): ExchangeLimits | undefined => {
  if (policy.deadline === undefined) return { timeoutMs: policy.timeoutMs, expiryReason: 'timeout' };
  const remaining = policy.deadline - Date.now();
  if (remaining <= 0) return undefined;
  return remaining < policy.timeoutMs
    ? { timeoutMs: remaining, expiryReason: 'deadline' }
    : { timeoutMs: policy.timeoutMs, expiryReason: 'timeout' };
};

/** Maps a failure rcode to an error; NOERROR and NXDOMAIN are answers, not failures. */
const rcodeError = (rcode: string, server: string): DnsError =>
  rcode === 'REFUSED'
    ? new DnsError('refused', 'server refused the query', { rcode, server })
    : new DnsError('servfail', `server answered ${rcode}`, { rcode, server });

/**
 * Asks the servers in turn, `attempts` rounds, until one gives a NOERROR or NXDOMAIN reply.
 * Timeouts, socket errors, SERVFAIL, REFUSED and other failure codes move on to the next server;
 * a truncated UDP reply is retried on the same server over TCP. Nothing starts after the deadline.
 * @throws {DnsError} the last failure, with the number of exchanges made.
 */
export const queryServers = async (
  spec: QuerySpec,
  policy: RetryPolicy,
  stats: ResolverStats,
): Promise<ServerReply> => {
  let exchanges = 0;
  let lastError: DnsError | undefined;
  const failed = (error: DnsError): DnsError =>
    new DnsError(error.reason, error.message, {
      ...(error.rcode === undefined ? {} : { rcode: error.rcode }),
      ...(error.server === undefined ? {} : { server: error.server }),
      attempts: exchanges,
      cause: error.cause,
    });
  const deadlineError = (): DnsError =>
    failed(
      new DnsError(
        'deadline',
        'deadline passed before an answer',
        lastError?.server ? { server: lastError.server } : {},
      ),
    );

  for (let round = 0; round < policy.attempts; round++) {
    for (const server of policy.servers) {
      const udpLimits = limitsFor(policy);
      if (udpLimits === undefined) throw deadlineError();
      exchanges++;
      try {
        let packet = await udpExchange(
          server,
          prepareQuery(spec, policy.caseRandomization === true),
          udpLimits,
          stats,
        );
        if (packet.flag_tc) {
          const tcpLimits = limitsFor(policy);
          if (tcpLimits === undefined) throw deadlineError();
          stats.tcpFallbacks++;
          exchanges++;
          packet = await tcpExchange(
            server,
            prepareQuery(spec, policy.caseRandomization === true),
            tcpLimits,
            stats,
          );
        }
        const rcode = packet.rcode ?? 'NOERROR';
        if (rcode === 'NOERROR' || rcode === 'NXDOMAIN') {
          return { packet, server: server.label, attempts: exchanges };
        }
        lastError = rcodeError(rcode, server.label);
      } catch (caught) {
        // Anything a socket throws is a network failure of this server: fail closed, typed.
        const error =
          caught instanceof DnsError
            ? caught
            : new DnsError('network', 'exchange failed', { server: server.label, cause: caught });
        if (error.reason === 'deadline') throw failed(error);
        lastError = error;
      }
    }
  }
  throw failed(lastError ?? new DnsError('network', 'no DNS server to ask'));
};
