import type { CaseMemory } from './case-memory.js';
import { DnsError } from './errors.js';
import { prepareQuery, type QuerySpec, type Reply } from './message.js';
import type { Server } from './servers.js';
import { tcpExchange } from './tcp.js';
import type { ResolverStats } from './types.js';
import { CASE_MISMATCH, type ExchangeLimits, udpExchange } from './udp.js';

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
  /** Servers found not to preserve case: asked without 0x20 while remembered. */
  caseMemory?: CaseMemory | undefined;
}

/** A usable (NOERROR or NXDOMAIN) reply and how it was had. */
export interface ServerReply {
  packet: Reply;
  server: string;
  attempts: number;
  /** `address:port` of a server whose reply differed from the query in letter case alone. */
  caseFallback: string | undefined;
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
 *
 * DNS 0x20 fallback, as unbound's `use-caps-for-id` but with TCP as the judge: a UDP reply right
 * in all but the name's letter case is not used, and the same server is asked at once over TCP
 * (0x20 case again), where an off-path spoofer cannot answer. A TCP reply with the name in other
 * case is used, and proves that the server does not preserve case: the server is remembered and
 * asked without 0x20 until its re-probe time. A TCP reply that echoes the case leaves the server
 * as it was (the UDP reply was a forgery, or only the UDP path folds case). When TCP fails, the
 * query goes once more over UDP in lower case, without remembering anything: so a forger who
 * guessed port and ID must do it twice in a row, and never switches 0x20 off for later queries.
 * @throws {DnsError} the last failure, with the number of exchanges made.
 */
export const queryServers = async (
  spec: QuerySpec,
  policy: RetryPolicy,
  stats: ResolverStats,
): Promise<ServerReply> => {
  let exchanges = 0;
  let lastError: DnsError | undefined;
  /** The server whose reply had the name in other case, so that a failure can say why it retried. */
  let caseMismatchFrom: string | undefined;
  /** The server this lookup went on asking without 0x20, for want of case preservation. */
  let caseFallback: string | undefined;
  const failed = (error: DnsError): DnsError =>
    new DnsError(
      error.reason,
      caseMismatchFrom === undefined
        ? error.message
        : `${error.message} (after ${caseMismatchFrom} replied with the name in other letter case: DNS 0x20)`,
      {
        ...(error.rcode === undefined ? {} : { rcode: error.rcode }),
        ...(error.server === undefined ? {} : { server: error.server }),
        attempts: exchanges,
        cause: error.cause,
      },
    );
  const deadlinePassed = (): DnsError =>
    new DnsError(
      'deadline',
      'deadline passed before an answer',
      lastError?.server ? { server: lastError.server } : {},
    );
  /** Limits of a retry inside one server's turn: the turn's catch turns the throw into the failure. */
  const limitsOrDeadline = (): ExchangeLimits => {
    const limits = limitsFor(policy);
    if (limits === undefined) throw deadlinePassed();
    return limits;
  };
  const overTcp = async (server: Server, randomCase: boolean): Promise<Reply> => {
    const limits = limitsOrDeadline();
    exchanges++;
    const reply = await tcpExchange(server, prepareQuery(spec, randomCase), limits, stats);
    if (reply.caseMismatch) {
      caseFallback = server.label;
      policy.caseMemory?.remember(server);
    }
    return reply.packet;
  };
  const afterCaseMismatch = async (server: Server): Promise<Reply> => {
    caseMismatchFrom = server.label;
    try {
      return await overTcp(server, true);
    } catch (caught) {
      if (caught instanceof DnsError && caught.reason === 'deadline') throw caught;
      // A forwarder that serves UDP only: one more try there, in lower case, compared case-insensitively.
      const limits = limitsOrDeadline();
      caseFallback = server.label;
      exchanges++;
      const packet = await udpExchange(server, prepareQuery(spec, false), limits, stats);
      // Without 0x20 no reply is a case mismatch; a truncated one would need the TCP that just failed.
      if (packet === CASE_MISMATCH || packet.flag_tc) throw caught;
      return packet;
    }
  };

  for (let round = 0; round < policy.attempts; round++) {
    for (const server of policy.servers) {
      const udpLimits = limitsFor(policy);
      if (udpLimits === undefined) throw failed(deadlinePassed());
      exchanges++;
      try {
        const randomCase =
          policy.caseRandomization === true && policy.caseMemory?.preservesCase(server) !== false;
        const udp = await udpExchange(server, prepareQuery(spec, randomCase), udpLimits, stats);
        let packet: Reply;
        if (udp === CASE_MISMATCH) {
          packet = await afterCaseMismatch(server);
        } else if (udp.flag_tc) {
          stats.tcpFallbacks++;
          packet = await overTcp(server, randomCase);
        } else {
          packet = udp;
        }
        const rcode = packet.rcode ?? 'NOERROR';
        if (rcode === 'NOERROR' || rcode === 'NXDOMAIN') {
          return { packet, server: server.label, attempts: exchanges, caseFallback };
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
