import type { Server } from './servers.js';

/**
 * How long a server found not to preserve letter case is asked without DNS 0x20 before it is
 * probed again, ms. Long enough that the probe (one UDP exchange wasted, one TCP exchange) is
 * noise; short enough that a forwarder fixed or replaced (a dnsmasq upgrade, a new VPC resolver
 * endpoint) gets its 0x20 bits back within minutes.
 */
export const CASE_REPROBE_MS = 10 * 60 * 1000;

/**
 * The servers found not to preserve the letter case of query names, each until its re-probe time.
 * Only TCP replies go in (see `queryServers`): an off-path spoofer cannot answer over TCP, so it
 * cannot talk the resolver out of 0x20 for a server. Keyed by server label, so it holds at most
 * one entry per configured server.
 */
export class CaseMemory {
  readonly #until = new Map<string, number>();
  readonly #now: () => number;
  readonly #reprobeMs: number;

  constructor(now: () => number, reprobeMs: number = CASE_REPROBE_MS) {
    this.#now = now;
    this.#reprobeMs = reprobeMs;
  }

  /** False while `server` is remembered as not preserving case; forgets it once its time is up. */
  preservesCase(server: Server): boolean {
    // Every query asks: with no server remembered (the usual case) that is one size check.
    if (this.#until.size === 0) return true;
    const until = this.#until.get(server.label);
    if (until === undefined) return true;
    if (this.#now() < until) return false;
    this.#until.delete(server.label);
    return true;
  }

  /** Remembers that `server` does not preserve case, until the re-probe time. */
  remember(server: Server): void {
    this.#until.set(server.label, this.#now() + this.#reprobeMs);
  }
}
