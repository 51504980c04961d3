import type { DnsError } from '../errors.js';
import type { DnssecStatus, Resolver, ResolverStats, TxtResolveOptions, TxtResult } from '../types.js';

/** What a table answers for a name: its TXT RRs, the RRs with the CNAMEs followed, or a failure. */
export type TableAnswer =
  | readonly (readonly string[])[]
  | { readonly records: readonly (readonly string[])[]; readonly cnameChain?: readonly string[] }
  | DnsError
  | Error;

/** Options of {@link createTableResolver}. */
export interface TableResolverOptions {
  /** AD bit of every answer. Default `true`. */
  ad?: boolean;
  /**
   * The in-process DNSSEC verdict on each positive answer of a `validate` call (a status, or one
   * per name). With it the resolver can validate (`prepareValidation` is defined and notes the
   * zones it was given in `prepared`). Default: none, a resolver that cannot validate.
   */
  dnssec?: DnssecStatus | ((name: string) => DnssecStatus);
}

/**
 * A {@link Resolver} that answers `resolveTxt` from a table, like a warm cache, for unit tests of
 * code above the resolver (middlewares, attack catalogues). A name missing from the table is
 * NXDOMAIN; an `Error` entry is thrown. The table is read at each call, so tests may change it.
 * An `accept` predicate is applied as the real resolver applies it to a cache hit: records it
 * rejects come back as `records: []`, outcome `unusable`.
 */
export const createTableResolver = (
  table: ReadonlyMap<string, TableAnswer> | ((name: string) => TableAnswer | undefined),
  options: TableResolverOptions = {},
): Resolver & { readonly calls: string[]; readonly prepared: string[] } => {
  const lookup = typeof table === 'function' ? table : (name: string) => table.get(name);
  const calls: string[] = [];
  const prepared: string[] = [];
  const verdictFor = options.dnssec;
  const stats: ResolverStats = {
    queriesSent: 0,
    repliesDropped: 0,
    tcpFallbacks: 0,
    cacheHits: 0,
    singleFlightJoins: 0,
    staleServed: 0,
    caseMismatches: 0,
  };
  const resolver = {
    calls,
    prepared,
    stats,
    ...(verdictFor === undefined
      ? {}
      : {
          async prepareValidation(zone: string): Promise<DnssecStatus> {
            prepared.push(zone);
            return typeof verdictFor === 'function' ? verdictFor(zone) : verdictFor;
          },
        }),
    async resolveTxt(name: string, callOptions: TxtResolveOptions = {}): Promise<TxtResult> {
      calls.push(name);
      const answer = lookup(name);
      if (answer instanceof Error) throw answer;
      const found = answer === undefined ? undefined : 'records' in answer ? answer : { records: answer };
      stats.cacheHits++;
      const records = (found?.records ?? []) as string[][];
      const usable =
        found === undefined || callOptions.accept === undefined || callOptions.accept(records) === true;
      const dnssec =
        callOptions.validate !== true || verdictFor === undefined || found === undefined || !usable
          ? undefined
          : typeof verdictFor === 'function'
            ? verdictFor(name)
            : verdictFor;
      return {
        ...(dnssec === undefined ? {} : { dnssec, dnssecReason: `table verdict ${dnssec}` }),
        records: usable ? records : [],
        cnameChain: [...(found?.cnameChain ?? [])],
        ttl: 60,
        ad: options.ad ?? true,
        rcode: found === undefined ? 'NXDOMAIN' : 'NOERROR',
        outcome: found === undefined ? 'nxdomain' : usable ? 'hit' : 'unusable',
        fromCache: true,
        latencyMs: 0.01,
        attempts: 0,
      };
    },
    async resolve(): Promise<never> {
      throw new TypeError('createTableResolver answers resolveTxt only');
    },
    clear() {},
    on() {
      return resolver;
    },
    off() {
      return resolver;
    },
  };
  return resolver as unknown as Resolver & { readonly calls: string[]; readonly prepared: string[] };
};
