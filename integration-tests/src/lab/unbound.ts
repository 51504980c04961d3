import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from './lab-error.js';
import { LOOPBACK } from './ports.js';
import { logTail, readPidFile, runCommand, stopOnce, stopProcess, waitUntil } from './process.js';

/** Options of {@link startUnbound}. */
export interface UnboundOptions {
  unbound: string;
  /** Folder for config, pid file, trust anchors and log. */
  directory: string;
  /** UDP and TCP port on 127.0.0.1. */
  port: number;
  /** Zones to send to the authoritative server (`stub-zone`), e.g. `['auth.nhi.test']`. */
  zones: readonly string[];
  /** `127.0.0.1` port of the authoritative server. */
  authoritativePort: number;
  /** DNSKEY lines (KSKs, flag 257) of the zones to validate; every other zone is insecure. */
  trustAnchors: readonly string[];
  /**
   * Called until it resolves `true`, to tell when unbound answers; the lab passes a query for
   * a zone's SOA.
   */
  ready: () => Promise<boolean>;
  /** More `server:` lines (e.g. `ede: yes`), after the lab's own. Default: none. */
  extraServerConfig?: readonly string[];
}

/** A running unbound validating resolver. */
export interface UnboundServer {
  /** `127.0.0.1:PORT`. */
  readonly server: string;
  readonly port: number;
  readonly pid: number;
  /** Stops unbound by its pid; resolves once it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

const renderConfig = (options: UnboundOptions, pidFile: string, anchors: string, log: string): string =>
  [
    'server:',
    `    interface: ${LOOPBACK}@${options.port}`,
    '    do-ip6: no',
    '    num-threads: 1',
    // The authoritative server is on loopback, which unbound refuses to ask by default.
    '    do-not-query-localhost: no',
    '    username: ""',
    '    chroot: ""',
    `    directory: "${options.directory}"`,
    '    do-daemonize: yes',
    `    pidfile: "${pidFile}"`,
    '    use-syslog: no',
    `    logfile: "${log}"`,
    '    verbosity: 1',
    '    val-log-level: 2',
    `    trust-anchor-file: "${anchors}"`,
    // Nothing above the lab zones exists (no root, no `test.` parent): do not validate it.
    '    domain-insecure: "."',
    // unbound answers `*.test.` itself (RFC 6761 special-use names) unless told otherwise.
    '    local-zone: "test." nodefault',
    // Rewritten zones must show after their TTL: no answers synthesised from cached NSEC
    // records, and negative answers kept only briefly.
    '    aggressive-nsec: no',
    // An outage of the authoritative server must show: no expired answers from unbound's cache
    // (serve-stale is the stub resolver's `staleTtl` to test, not unbound's).
    '    serve-expired: no',
    '    cache-max-negative-ttl: 1',
    '    qname-minimisation: no',
    ...(options.extraServerConfig ?? []).map((line) => `    ${line}`),
    ...options.zones.flatMap((zone) => [
      'stub-zone:',
      `    name: "${zone}."`,
      `    stub-addr: ${LOOPBACK}@${options.authoritativePort}`,
    ]),
    'remote-control:',
    '    control-enable: no',
    '',
  ].join('\n');

/**
 * Starts `unbound` as a daemon that validates the anchored zones, and waits until it answers.
 * @throws {LabError} with the end of unbound's log when it does not come up.
 */
export const startUnbound = async (options: UnboundOptions): Promise<UnboundServer> => {
  const pidFile = join(options.directory, 'unbound.pid');
  const anchors = join(options.directory, 'trust-anchors.txt');
  const log = join(options.directory, 'unbound.log');
  const config = join(options.directory, 'unbound.conf');
  await writeFile(anchors, `${options.trustAnchors.join('\n')}\n`);
  await writeFile(config, renderConfig(options, pidFile, anchors, log));
  try {
    await runCommand(options.unbound, ['-c', config]);
  } catch (error) {
    throw new LabError(`unbound did not start:\n${await logTail(log)}`, { cause: error });
  }
  let pid = 0;
  try {
    await waitUntil(
      async () => {
        pid = await readPidFile(pidFile);
        return true;
      },
      { what: 'unbound to write its pid file' },
    );
    await waitUntil(options.ready, { what: 'unbound to answer' });
  } catch (error) {
    if (pid > 0) await stopProcess(pid);
    throw new LabError(`unbound did not come up:\n${await logTail(log)}`, { cause: error });
  }
  return { server: `${LOOPBACK}:${options.port}`, port: options.port, pid, stop: stopOnce(pid) };
};
