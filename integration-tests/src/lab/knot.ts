import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from './lab-error.js';
import { LOOPBACK } from './ports.js';
import { logTail, readPidFile, runCommand, stopOnce, waitUntil } from './process.js';

/** A zone knot serves from a file. */
export interface KnotZone {
  /** Apex, e.g. `auth.nhi.test`. */
  origin: string;
  /** Path of the zone file. */
  file: string;
  /** Knot signs the zone itself (Ed25519, NSEC) at every load. Otherwise the file is served as is. */
  sign: boolean;
}

/** Options of {@link startKnot}. */
export interface KnotOptions {
  knotd: string;
  knotc: string;
  /** Folder for config, run files, database and log (created if needed). */
  directory: string;
  /** UDP and TCP port on 127.0.0.1. */
  port: number;
  zones: readonly KnotZone[];
}

/** A running knot authoritative server. */
export interface KnotServer {
  /** `127.0.0.1:PORT`. */
  readonly server: string;
  readonly port: number;
  readonly pid: number;
  /** Re-reads a zone's file (and re-signs a signed zone); resolves when knot is done. */
  reloadZone(origin: string): Promise<void>;
  /** The zone's DNSKEY records in presentation form, `owner TTL DNSKEY flags 3 alg key`. */
  readDnskeys(origin: string): Promise<string[]>;
  /** Stops knotd by its pid; resolves once it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

const renderConfig = (options: KnotOptions, runDirectory: string, storage: string, log: string): string => {
  const zones = options.zones.flatMap((zone) => [
    `  - domain: ${zone.origin}.`,
    `    file: ${zone.file}`,
    ...(zone.sign ? ['    dnssec-signing: on', '    dnssec-policy: lab'] : ['    dnssec-signing: off']),
  ]);
  return [
    'server:',
    `    listen: ${LOOPBACK}@${options.port}`,
    `    rundir: ${runDirectory}`,
    `    pidfile: ${join(runDirectory, 'knot.pid')}`,
    // knotd refuses to run as root without being told to; as another user it must own the folder.
    ...(process.getuid?.() === 0 ? ['    user: root:root'] : []),
    '    background-workers: 1',
    '    udp-workers: 1',
    '    tcp-workers: 1',
    'log:',
    `  - target: ${log}`,
    '    any: info',
    'database:',
    `    storage: ${storage}`,
    'policy:',
    '  - id: lab',
    '    algorithm: ed25519',
    '    nsec3: off',
    'template:',
    '  - id: default',
    // The files are ours: knot must neither write signatures back nor keep a journal that
    // would outlive a rewritten file.
    '    zonefile-sync: -1',
    '    zonefile-load: whole',
    '    journal-content: none',
    'zone:',
    ...zones,
    '',
  ].join('\n');
};

/**
 * Starts `knotd` as a daemon with a configuration of its own and waits until every zone is
 * loaded (and signed).
 * @throws {LabError} with the end of knot's log when it does not come up.
 */
export const startKnot = async (options: KnotOptions): Promise<KnotServer> => {
  const runDirectory = join(options.directory, 'run');
  const storage = join(options.directory, 'db');
  const log = join(options.directory, 'knot.log');
  const config = join(options.directory, 'knot.conf');
  await mkdir(runDirectory, { recursive: true });
  await mkdir(storage, { recursive: true });
  await writeFile(config, renderConfig(options, runDirectory, storage, log));
  const knotc = (...args: string[]) => runCommand(options.knotc, ['-c', config, ...args]);

  try {
    await runCommand(options.knotd, ['-c', config, '-d']);
  } catch (error) {
    throw new LabError(`knotd did not start:\n${await logTail(log)}`, { cause: error });
  }
  const pidFile = join(runDirectory, 'knot.pid');
  let pid = 0;
  try {
    await waitUntil(
      async () => {
        pid = await readPidFile(pidFile);
        return true;
      },
      { what: 'knotd to write its pid file' },
    );
  } catch (error) {
    throw new LabError(`knotd did not start:\n${await logTail(log)}`, { cause: error });
  }

  const readDnskeys = async (origin: string): Promise<string[]> => {
    const { stdout } = await knotc('zone-read', `${origin}.`, '@', 'DNSKEY');
    // Lines look like `[auth.nhi.test.] auth.nhi.test. 60 DNSKEY 257 3 15 <key>`: drop the zone tag.
    return stdout
      .split('\n')
      .map((line) => line.replace(/^\[[^\]]*\]\s*/, '').trim())
      .filter((line) => /\sDNSKEY\s/.test(line));
  };

  const server: KnotServer = {
    server: `${LOOPBACK}:${options.port}`,
    port: options.port,
    pid,
    reloadZone: async (origin) => {
      await knotc('-b', 'zone-reload', `${origin}.`);
    },
    readDnskeys,
    stop: stopOnce(pid),
  };

  try {
    for (const zone of options.zones) {
      await waitUntil(
        async () => {
          const { stdout } = await knotc('zone-status', `${zone.origin}.`);
          // An unloaded zone shows `serial: -`; a signed one is ready once its KSK exists.
          if (!/serial: \d+/.test(stdout)) return false;
          return !zone.sign || (await readDnskeys(zone.origin)).some((line) => /\sDNSKEY\s+257\s/.test(line));
        },
        { what: `knot to load zone ${zone.origin}` },
      );
    }
  } catch (error) {
    await server.stop();
    throw new LabError(`knot did not load its zones:\n${await logTail(log)}`, { cause: error });
  }
  return server;
};
