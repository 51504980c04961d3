import { Resolver as NodeResolver } from 'node:dns/promises';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateDnsTools } from './dns-tools.js';
import { type KnotServer, startKnot } from './knot.js';
import { LabError } from './lab-error.js';
import { signZoneOffline } from './offline-signing.js';
import { freeDnsPort } from './ports.js';
import { startUnbound, type UnboundServer } from './unbound.js';
import { renderZoneFile, type TxtRecord } from './zone-file.js';

/**
 * How a lab zone is secured:
 * - `signed`: knot signs it at every load (Ed25519, NSEC); unbound trusts its KSK, so answers carry AD.
 * - `unsigned`: no DNSSEC; unbound treats it as insecure (no AD).
 * - `tampered`: signed offline with ldns, then `tamperedRecords` swapped in without new
 *   signatures and served as is; unbound trusts its KSK, so the swapped RRsets are bogus (SERVFAIL).
 */
export type ZoneSecurity = 'signed' | 'unsigned' | 'tampered';

/** One zone of the lab. */
export interface LabZone {
  /** Apex, e.g. `auth.nhi.test`. */
  origin: string;
  security: ZoneSecurity;
  /** TXT records at load. */
  records: readonly TxtRecord[];
  /** `tampered` zones: RRs that replace their owners' signed TXT RRsets after signing. */
  tamperedRecords?: readonly TxtRecord[];
}

/** Options of {@link startDnsLab}. */
export interface DnsLabOptions {
  zones: readonly LabZone[];
  /** TTL of TXT records without their own, seconds. Default 1. */
  recordTtl?: number;
}

/** knot behind unbound on loopback, with the given zones. */
export interface DnsLab {
  /** unbound, the validating resolver: `127.0.0.1:PORT`. */
  readonly resolverServer: string;
  /** knot, the authoritative server: `127.0.0.1:PORT`. */
  readonly authoritativeServer: string;
  /** Folder holding every file of the lab (removed by `stop`). */
  readonly directory: string;
  /** The DNSKEY lines unbound trusts. */
  readonly trustAnchors: readonly string[];
  /**
   * Replaces the TXT records of a `signed` or `unsigned` zone in the live server: rewrites the
   * zone file with a higher serial and reloads it (knot re-signs). Resolves when knot serves it.
   */
  publish(origin: string, records: readonly TxtRecord[]): Promise<void>;
  /** Stops knot (an outage of the authoritative server); unbound keeps running. */
  stopAuthoritative(): Promise<void>;
  /** Stops both daemons by pid and removes the folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** A DNS client pinned to one lab server, to tell when it answers. */
const soaAnswers = (server: string, origin: string) => {
  const client = new NodeResolver({ timeout: 300, tries: 1 });
  client.setServers([server]);
  return async () => (await client.resolveSoa(origin)).serial > 0;
};

/**
 * Starts knot (authoritative for every zone) and unbound (validating, in front of it) on free
 * loopback ports, with every file in a fresh temporary folder.
 * @throws {LabError} when a tool is missing (with install instructions) or a daemon fails.
 */
export const startDnsLab = async (options: DnsLabOptions): Promise<DnsLab> => {
  const tools = locateDnsTools();
  const recordTtl = options.recordTtl ?? 1;
  const directory = await mkdtemp(join(tmpdir(), 'nhi-dns-lab-'));
  const zoneDirectory = join(directory, 'zones');
  await mkdir(zoneDirectory);
  const serials = new Map<string, number>();
  const zoneFile = (origin: string) => join(zoneDirectory, `${origin}.zone`);
  const writeZone = async (origin: string, records: readonly TxtRecord[]) => {
    const serial = (serials.get(origin) ?? 0) + 1;
    serials.set(origin, serial);
    await writeFile(zoneFile(origin), renderZoneFile({ origin, serial, records, recordTtl }));
  };

  let knot: KnotServer | undefined;
  let unbound: UnboundServer | undefined;
  const stop = async () => {
    await unbound?.stop();
    await knot?.stop();
    await rm(directory, { recursive: true, force: true });
  };

  try {
    const anchors: string[] = [];
    const served: Array<{ origin: string; file: string; sign: boolean }> = [];
    for (const zone of options.zones) {
      await writeZone(zone.origin, zone.records);
      if (zone.security !== 'tampered') {
        served.push({ origin: zone.origin, file: zoneFile(zone.origin), sign: zone.security === 'signed' });
        continue;
      }
      const signed = await signZoneOffline({
        ldnsKeygen: tools['ldns-keygen'],
        ldnsSignzone: tools['ldns-signzone'],
        directory: join(directory, `offline-${zone.origin}`),
        origin: zone.origin,
        zoneFile: zoneFile(zone.origin),
        tamperedRecords: zone.tamperedRecords ?? [],
        recordTtl,
      });
      anchors.push(signed.keySigningKey);
      served.push({ origin: zone.origin, file: signed.signedFile, sign: false });
    }

    knot = await startKnot({
      knotd: tools.knotd,
      knotc: tools.knotc,
      directory: join(directory, 'knot'),
      port: await freeDnsPort(),
      zones: served,
    });
    for (const zone of options.zones.filter(({ security }) => security === 'signed')) {
      const ksk = (await knot.readDnskeys(zone.origin)).filter((line) => /\sDNSKEY\s+257\s/.test(line));
      if (ksk.length === 0) throw new LabError(`knot published no KSK for ${zone.origin}`);
      anchors.push(...ksk);
    }

    const firstZone = options.zones[0]?.origin;
    if (firstZone === undefined) throw new LabError('a DNS lab needs at least one zone');
    const unboundPort = await freeDnsPort();
    unbound = await startUnbound({
      unbound: tools.unbound,
      directory,
      port: unboundPort,
      zones: options.zones.map(({ origin }) => origin),
      authoritativePort: knot.port,
      trustAnchors: anchors,
      ready: soaAnswers(`127.0.0.1:${unboundPort}`, firstZone),
    });

    const running = knot;
    return {
      resolverServer: unbound.server,
      authoritativeServer: running.server,
      directory,
      trustAnchors: anchors,
      publish: async (origin, records) => {
        const zone = options.zones.find((candidate) => candidate.origin === origin);
        if (zone === undefined || zone.security === 'tampered') {
          throw new LabError(`publish: ${origin} is not a signed or unsigned zone of this lab`);
        }
        await writeZone(origin, records);
        await running.reloadZone(origin);
      },
      stopAuthoritative: () => running.stop(),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
};
