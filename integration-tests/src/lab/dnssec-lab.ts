import { accessSync, constants } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultToolDirectories, locateDnsTools } from './dns-tools.js';
import { type KnotServer, type KnotZone, startKnot } from './knot.js';
import { LabError } from './lab-error.js';
import { freeDnsPort } from './ports.js';
import { runCommand } from './process.js';
import { startUnbound, type UnboundServer } from './unbound.js';
import { ownerOf, renderTxtRecord, renderZoneFile, type TxtRecord } from './zone-file.js';

/**
 * A DNSSEC chain of trust built by signers no one here wrote: a parent zone (the lab "root",
 * whose KSK is the only trust anchor) signed by knot, delegating to child zones on the same knot,
 * each signed by knot or by `ldns-signzone` and broken (or not) in one way a validator must catch.
 *
 * Delegations carry NS and glue on loopback, but a glue address cannot name a port: unbound gets
 * every zone as a `stub-zone` pointing at knot, and knot, authoritative for parent and children,
 * answers a child's DS from the parent (RFC 4035 §3.1.4.1), so the chain is the same as with
 * separate servers.
 */

/** Signing algorithms of `ldns-keygen` the lab uses (DNSSEC numbers 8, 13, 14, 15). */
export type LdnsAlgorithm = 'RSASHA256' | 'ECDSAP256SHA256' | 'ECDSAP384SHA384' | 'ED25519';

/** DNSSEC algorithm number of each {@link LdnsAlgorithm}. */
export const LDNS_ALGORITHM_NUMBERS: Readonly<Record<LdnsAlgorithm, number>> = Object.freeze({
  RSASHA256: 8,
  ECDSAP256SHA256: 13,
  ECDSAP384SHA384: 14,
  ED25519: 15,
});

/**
 * What is wrong with an `ldns-signzone`-signed child (each applies to every TXT RRset of the zone):
 * - `forged-txt`: the TXT RRsets replaced by `records`, the original RRSIGs kept;
 * - `expired-txt`: the TXT RRSIGs replaced by the same keys' signatures over a validity period
 *   in the past (`ldns-signzone -i/-e`), everything else valid;
 * - `future-txt`: the same with a validity period that starts in a month (not yet valid);
 * - `expired-zone`: the whole zone (DNSKEY RRset included) signed over a period in the past;
 * - `foreign-key-txt`: the TXT RRSIGs replaced by those of a second signing with a ZSK that the
 *   child does not publish;
 * - `ds-mismatch`: the parent's DS names a KSK the child never published;
 * - `stripped`: every RRSIG removed from the child while the parent keeps its DS (a downgrade);
 * - `rollover`: a KSK rollover in progress: two KSKs published, the DNSKEY RRset signed by both
 *   (`signedBy: 'both'`) or by the new one only (the old one just published), and the parent's
 *   DS naming only the new KSK (`dsOf: 'new'`, a correct rollover) or only the old one (a DS not
 *   yet swapped while the old key already stopped signing: broken when `signedBy` is `new`).
 */
export type LdnsFault =
  | { readonly kind: 'forged-txt'; readonly records: readonly TxtRecord[] }
  | { readonly kind: 'expired-txt' }
  | { readonly kind: 'future-txt' }
  | { readonly kind: 'expired-zone' }
  | { readonly kind: 'foreign-key-txt' }
  | { readonly kind: 'ds-mismatch' }
  | { readonly kind: 'stripped' }
  | { readonly kind: 'rollover'; readonly signedBy: 'both' | 'new'; readonly dsOf: 'new' | 'old' };

/** Who signs a child zone, and how its delegation looks. */
export type ChildSigning =
  /** knot signs at load (Ed25519, NSEC); the parent gets the DS of its KSK. */
  | { readonly signer: 'knot' }
  /** Signed offline by `ldns-signzone` (default Ed25519, DS digest type 2), possibly broken. */
  | {
      readonly signer: 'ldns';
      readonly algorithm?: LdnsAlgorithm;
      /** DS digest type in the parent: 1 (SHA-1), 2 (SHA-256) or 4 (SHA-384). */
      readonly digestType?: 1 | 2 | 4;
      /** Deny existence with NSEC3 (`ldns-signzone -n`: SHA-1, no opt-out) instead of NSEC. */
      readonly nsec3?: boolean;
      readonly fault?: LdnsFault;
    }
  /** Served unsigned, delegated without DS: provably insecure. */
  | { readonly signer: 'none' };

/** One child zone of the DNSSEC lab. */
export interface DnssecChild {
  /** Apex, directly under the parent, e.g. `valid.nhi.test`. */
  readonly origin: string;
  readonly signing: ChildSigning;
  /** TXT records of the zone (owners may be wildcards, e.g. `*.wild.valid.nhi.test`). */
  readonly records: readonly TxtRecord[];
  /** More zone-file lines with absolute owners, e.g. `a.valid.nhi.test. 300 IN CNAME b.nhi.test.`. */
  readonly extraLines?: readonly string[];
  /**
   * Unsigned zones delegated from this one without DS (NS + glue in this zone), each a label
   * under it with its TXT records: e.g. an unsigned delegation under an NSEC3-signed zone.
   */
  readonly unsignedDelegations?: readonly {
    readonly label: string;
    readonly records: readonly TxtRecord[];
  }[];
}

/** Options of {@link startDnssecLab}. */
export interface DnssecLabOptions {
  /** The parent zone and trust anchor. Default `nhi.test`. */
  readonly parent?: string;
  readonly children: readonly DnssecChild[];
  /** TTL of TXT records without their own, and of delegation records, seconds. Default 300. */
  readonly recordTtl?: number;
}

/** What the lab built for one zone below the parent. */
export interface DnssecChildInfo {
  readonly origin: string;
  /** Who signed it: `knot`, `ldns-signzone <algorithm>` or `unsigned`. */
  readonly signer: string;
  /** The parent's DS lines for it (none for an unsigned delegation). */
  readonly ds: readonly string[];
}

/** knot (parent and children) behind unbound, anchored at the parent's KSK. */
export interface DnssecLab {
  /** unbound, validating against {@link DnssecLab.trustAnchors}: `127.0.0.1:PORT`. */
  readonly resolverServer: string;
  /** knot, authoritative for every zone: `127.0.0.1:PORT`. */
  readonly authoritativeServer: string;
  readonly parent: string;
  /** The parent's KSK as DNSKEY lines, the only trust anchor (unbound's and ours). */
  readonly trustAnchors: readonly string[];
  /** The same anchor in BIND syntax (`trust-anchors { ... static-key ... };`), for `delv -a`. */
  readonly delvAnchorFile: string;
  /** Every zone below the parent: the children, then the zones they delegate. */
  readonly children: readonly DnssecChildInfo[];
  /** Folder holding every file of the lab (removed by `stop`). */
  readonly directory: string;
  /**
   * Why unbound found `name` bogus, from its log (`val-log-level: 2`): the reason of its last
   * `validation failure <name. TYPE IN>` line, if any.
   */
  unboundFailure(name: string, type?: string): Promise<string | undefined>;
  /** Stops both daemons by pid and removes the folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** Extra tools of the DNSSEC lab, with the Debian package that ships each. */
const DNSSEC_TOOLS = Object.freeze({ 'ldns-key2ds': 'ldnsutils', dig: 'dnsutils', delv: 'dnsutils' });

/** Absolute paths of the lab's daemons and signers plus `ldns-key2ds`, `dig` and `delv`. */
export type DnssecToolPaths = ReturnType<typeof locateDnsTools> &
  Readonly<Record<keyof typeof DNSSEC_TOOLS, string>>;

/**
 * Locates every tool the DNSSEC lab runs.
 * @throws {LabError} naming the missing ones and how to install them (the suites fail, never skip).
 */
export const locateDnssecTools = (): DnssecToolPaths => {
  const base = locateDnsTools();
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const [tool, debianPackage] of Object.entries(DNSSEC_TOOLS)) {
    const location = defaultToolDirectories()
      .map((directory) => join(directory, tool))
      .find((path) => {
        try {
          accessSync(path, constants.X_OK);
          return true;
        } catch {
          return false;
        }
      });
    if (location === undefined) missing.push(`${tool} (package ${debianPackage})`);
    else found[tool] = location;
  }
  if (missing.length > 0) {
    throw new LabError(
      `The DNSSEC lab needs these missing tools: ${missing.join(', ')}. Install them with ` +
        '`sudo integration-tests/setup/install.sh` (Debian/Ubuntu: `apt-get install -y ldnsutils dnsutils`).',
    );
  }
  return { ...base, ...found } as DnssecToolPaths;
};

/** One RR line of a zone file as ldns prints it: owner, TTL, class, type, rdata. */
const RR_LINE = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/i;
const canonical = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** Whether a signed-zone line is an RRSIG over TXT (the RRSIG's first rdata field). */
const isTxtRrsig = (line: string): boolean => {
  const match = RR_LINE.exec(line);
  return match?.[3]?.toUpperCase() === 'RRSIG' && /^TXT\s/i.test(match[4] ?? '');
};
const typeOf = (line: string): string | undefined => RR_LINE.exec(line)?.[3]?.toUpperCase();
const lines = (text: string): string[] => text.split('\n').filter((line) => line.trim() !== '');

/** A DS line (`owner TTL IN DS tag alg type digest`) for a key file, by `ldns-key2ds`. */
const dsOf = async (key2ds: string, keyFile: string, digestType: 1 | 2 | 4, ttl: number): Promise<string> => {
  const { stdout } = await runCommand(key2ds, ['-n', `-${digestType}`, keyFile]);
  const match = RR_LINE.exec(stdout.trim());
  if (match === null || match[3]?.toUpperCase() !== 'DS') {
    throw new LabError(`ldns-key2ds printed no DS for ${keyFile}: ${stdout}`);
  }
  return `${canonical(match[1] ?? '')}. ${ttl} IN DS ${match[4]?.trim()}`;
};

/** Where a past validity period starts and ends (`ldns-signzone -i/-e`): signatures long expired. */
const PAST_VALIDITY = ['-i', '20200101000000', '-e', '20200201000000'];
/** A validity period that starts in 30 days (ldns takes epoch seconds too). */
const futureValidity = (): string[] => {
  const now = Math.floor(Date.now() / 1000);
  return ['-i', String(now + 30 * 86_400), '-e', String(now + 60 * 86_400)];
};

/** A child's unsigned zone file: SOA, NS + glue, its TXT records and extra lines. */
const childZoneFile = (child: DnssecChild, recordTtl: number): string =>
  renderZoneFile({ origin: canonical(child.origin), serial: 1, records: child.records, recordTtl }) +
  [
    ...(child.extraLines ?? []),
    ...(child.unsignedDelegations ?? []).flatMap(({ label }) => {
      const cut = `${label}.${canonical(child.origin)}`;
      return [`${cut}. ${recordTtl} IN NS ns1.${cut}.`, `ns1.${cut}. ${recordTtl} IN A 127.0.0.1`];
    }),
  ]
    .map((line) => `${line}\n`)
    .join('');

interface BuiltChild {
  info: DnssecChildInfo;
  knot: KnotZone;
}

/** Signs (and breaks) an ldns child offline; returns the file to serve and the parent's DS. */
const buildLdnsChild = async (
  tools: DnssecToolPaths,
  directory: string,
  child: DnssecChild & { signing: { signer: 'ldns' } },
  recordTtl: number,
): Promise<BuiltChild> => {
  const { origin } = child;
  const algorithm = child.signing.algorithm ?? 'ED25519';
  const digestType = child.signing.digestType ?? 2;
  const fault = child.signing.fault;
  await mkdir(directory, { recursive: true });
  const zoneFile = join(directory, `${origin}.zone`);
  await writeFile(zoneFile, childZoneFile(child, recordTtl));

  // ldns-keygen writes K<origin>+<alg>+<tag>.{key,private} into its working folder and prints the base name.
  const keygen = async (...flags: string[]) =>
    (
      await runCommand(
        tools['ldns-keygen'],
        [...flags, '-a', algorithm, ...(algorithm === 'RSASHA256' ? ['-b', '2048'] : []), origin],
        { cwd: directory, timeoutMs: 60_000 },
      )
    ).stdout.trim();
  const sign = async (output: string, keys: readonly string[], extra: readonly string[] = []) => {
    const file = join(directory, output);
    await runCommand(tools['ldns-signzone'], [...extra, '-o', `${origin}.`, '-f', file, zoneFile, ...keys], {
      cwd: directory,
      timeoutMs: 60_000,
    });
    return lines(await readFile(file, 'utf8'));
  };

  const ksk = await keygen('-k');
  const zsk = await keygen();
  let dsKey = ksk;
  let signingKeys = [ksk, zsk];
  if (fault?.kind === 'rollover') {
    const newKsk = await keygen('-k');
    if (fault.signedBy === 'both') signingKeys = [ksk, newKsk, zsk];
    else {
      // ldns-signzone signs with the keys it is given and publishes the DNSKEYs it finds in the
      // zone: the old KSK goes into the file, published but no longer signing.
      await appendFile(zoneFile, `${(await readFile(join(directory, `${ksk}.key`), 'utf8')).trim()}\n`);
      signingKeys = [newKsk, zsk];
    }
    dsKey = fault.dsOf === 'new' ? newKsk : ksk;
  } else if (fault?.kind === 'ds-mismatch') {
    dsKey = await keygen('-k'); // never published, never signs
  }
  let served = await sign(`${origin}.signed`, signingKeys, [
    ...(fault?.kind === 'expired-zone' ? PAST_VALIDITY : []),
    ...(child.signing.nsec3 === true ? ['-n'] : []),
  ]);

  switch (fault?.kind) {
    case 'forged-txt': {
      const owners = new Set(fault.records.map(ownerOf));
      served = [
        ...served.filter((line) => {
          const match = RR_LINE.exec(line);
          return !(match?.[3]?.toUpperCase() === 'TXT' && owners.has(canonical(match[1] ?? '')));
        }),
        ...fault.records.map((record) => renderTxtRecord(record, recordTtl)),
      ];
      break;
    }
    case 'expired-txt':
    case 'future-txt':
    case 'foreign-key-txt': {
      // The same content signed a second time (by the same keys over another period, or by a
      // ZSK the child does not publish): its TXT signatures replace the served ones.
      const other =
        fault.kind === 'foreign-key-txt'
          ? await sign('foreign.signed', [ksk, await keygen()])
          : await sign(
              `${fault.kind}.signed`,
              signingKeys,
              fault.kind === 'expired-txt' ? PAST_VALIDITY : futureValidity(),
            );
      served = [...served.filter((line) => !isTxtRrsig(line)), ...other.filter(isTxtRrsig)];
      break;
    }
    case 'stripped':
      served = served.filter((line) => typeOf(line) !== 'RRSIG');
      break;
    default:
      break;
  }
  const file = join(directory, `${origin}.served`);
  await writeFile(file, `${served.join('\n')}\n`);
  return {
    info: {
      origin,
      signer: `ldns-signzone ${algorithm}`,
      ds: [await dsOf(tools['ldns-key2ds'], join(directory, `${dsKey}.key`), digestType, recordTtl)],
    },
    knot: { origin, file, sign: false },
  };
};

/** The parent zone: SOA, NS, and per child NS + glue on loopback and its DS lines. */
const renderParent = (
  parent: string,
  serial: number,
  children: readonly DnssecChildInfo[],
  ttl: number,
): string =>
  renderZoneFile({ origin: parent, serial, records: [] }) +
  children
    .flatMap((child) => [
      `${child.origin}. ${ttl} IN NS ns1.${child.origin}.`,
      `ns1.${child.origin}. ${ttl} IN A 127.0.0.1`,
      ...child.ds,
    ])
    .map((line) => `${line}\n`)
    .join('');

/** A DNSKEY line (`owner [TTL] [IN] DNSKEY flags 3 alg key...`) in delv's `trust-anchors` syntax. */
const delvAnchor = (dnskey: string): string => {
  const match = /^(\S+)\s+(?:\d+\s+)?(?:IN\s+)?DNSKEY\s+(\d+)\s+(\d+)\s+(\d+)\s+(.+)$/i.exec(dnskey.trim());
  if (match === null) throw new LabError(`not a DNSKEY line: ${dnskey}`);
  const [, owner, flags, protocol, algorithm, key] = match;
  return `    ${canonical(owner ?? '')}. static-key ${flags} ${protocol} ${algorithm} "${key?.replace(/\s+/g, '')}";`;
};

const isKsk = (line: string): boolean => /\sDNSKEY\s+257\s/.test(line);

/**
 * Builds and starts the DNSSEC lab: signs the ldns children offline, starts knot for the parent
 * and every child, puts the DS of each signed child into the parent (knot re-signs it), then
 * starts unbound with the parent's KSK as its only trust anchor.
 * @throws {LabError} when a tool is missing (with install instructions) or a daemon fails.
 */
export const startDnssecLab = async (options: DnssecLabOptions): Promise<DnssecLab> => {
  const tools = locateDnssecTools();
  const parent = canonical(options.parent ?? 'nhi.test');
  const ttl = options.recordTtl ?? 300;
  for (const child of options.children) {
    if (
      !canonical(child.origin).endsWith(`.${parent}`) ||
      canonical(child.origin).split('.').length !== parent.split('.').length + 1
    ) {
      throw new LabError(`${child.origin} is not a child zone directly under ${parent}`);
    }
  }
  const directory = await mkdtemp(join(tmpdir(), 'nhi-dnssec-lab-'));
  let knot: KnotServer | undefined;
  let unbound: UnboundServer | undefined;
  const stop = async () => {
    await unbound?.stop();
    await knot?.stop();
    await rm(directory, { recursive: true, force: true });
  };

  try {
    const zoneDirectory = join(directory, 'zones');
    await mkdir(zoneDirectory);
    const infos: DnssecChildInfo[] = [];
    const knotZones: KnotZone[] = [];
    const knotSigned: string[] = [];
    for (const child of options.children) {
      const origin = canonical(child.origin);
      const { signing } = child;
      if (signing.signer === 'ldns') {
        const built = await buildLdnsChild(
          tools,
          join(directory, `ldns-${origin}`),
          { ...child, origin, signing },
          ttl,
        );
        infos.push(built.info);
        knotZones.push(built.knot);
        continue;
      }
      const file = join(zoneDirectory, `${origin}.zone`);
      await writeFile(file, childZoneFile({ ...child, origin }, ttl));
      knotZones.push({ origin, file, sign: signing.signer === 'knot' });
      if (signing.signer === 'knot') knotSigned.push(origin);
      infos.push({ origin, signer: signing.signer === 'knot' ? 'knot' : 'unsigned', ds: [] });
    }
    // Zones delegated from a child, never from the parent: kept out of the parent's delegations.
    const grandchildren: DnssecChildInfo[] = [];
    for (const child of options.children) {
      for (const delegation of child.unsignedDelegations ?? []) {
        const origin = `${delegation.label}.${canonical(child.origin)}`;
        const file = join(zoneDirectory, `${origin}.zone`);
        await writeFile(
          file,
          renderZoneFile({ origin, serial: 1, records: delegation.records, recordTtl: ttl }),
        );
        knotZones.push({ origin, file, sign: false });
        grandchildren.push({ origin, signer: 'unsigned', ds: [] });
      }
    }

    // The parent is loaded first with the DS records known so far (the ldns children's), then
    // reloaded once knot has made the keys of the children it signs.
    const parentFile = join(zoneDirectory, `${parent}.zone`);
    await writeFile(parentFile, renderParent(parent, 1, infos, ttl));
    knot = await startKnot({
      knotd: tools.knotd,
      knotc: tools.knotc,
      directory: join(directory, 'knot'),
      port: await freeDnsPort(),
      zones: [{ origin: parent, file: parentFile, sign: true }, ...knotZones],
    });
    for (const origin of knotSigned) {
      const ksk = (await knot.readDnskeys(origin)).filter(isKsk);
      if (ksk.length === 0) throw new LabError(`knot published no KSK for ${origin}`);
      const keyFile = join(zoneDirectory, `${origin}.ksk`);
      // ldns-key2ds reads one RR; knot prints it without a class.
      await writeFile(keyFile, `${ksk[0]?.replace(/\sDNSKEY\s/, ' IN DNSKEY ')}\n`);
      const info = infos.findIndex((candidate) => candidate.origin === origin);
      infos[info] = { ...infos[info]!, ds: [await dsOf(tools['ldns-key2ds'], keyFile, 2, ttl)] };
    }
    if (knotSigned.length > 0) {
      await writeFile(parentFile, renderParent(parent, 2, infos, ttl));
      await knot.reloadZone(parent);
    }
    const anchors = (await knot.readDnskeys(parent)).filter(isKsk);
    if (anchors.length === 0) throw new LabError(`knot published no KSK for ${parent}`);
    const delvAnchorFile = join(directory, 'delv-anchors.conf');
    await writeFile(delvAnchorFile, `trust-anchors {\n${anchors.map(delvAnchor).join('\n')}\n};\n`);

    const unboundPort = await freeDnsPort();
    const unboundServer = `127.0.0.1:${unboundPort}`;
    const dig = tools.dig;
    unbound = await startUnbound({
      unbound: tools.unbound,
      directory,
      port: unboundPort,
      zones: [parent, ...[...infos, ...grandchildren].map(({ origin }) => origin)],
      authoritativePort: knot.port,
      trustAnchors: anchors,
      extraServerConfig: ['ede: yes'],
      ready: async () => {
        const { stdout } = await runCommand(dig, [
          '@127.0.0.1',
          '-p',
          String(unboundPort),
          '+time=1',
          '+tries=1',
          parent,
          'SOA',
        ]);
        return /status: NOERROR/.test(stdout) && /flags:[^;]*\bad\b/.test(stdout);
      },
    });

    return {
      resolverServer: unboundServer,
      authoritativeServer: knot.server,
      parent,
      trustAnchors: anchors,
      delvAnchorFile,
      children: [...infos, ...grandchildren],
      directory,
      unboundFailure: async (name, type = 'TXT') => {
        const log = await readFile(join(directory, 'unbound.log'), 'utf8').catch(() => '');
        // unbound logs the name as asked, and our resolver randomises its case (0x20).
        const marker = `validation failure <${canonical(name)}. ${type.toLowerCase()} in>: `;
        const line = log
          .split('\n')
          .filter((candidate) => candidate.toLowerCase().includes(marker))
          .pop();
        if (line === undefined) return undefined;
        const reason = line.slice(line.toLowerCase().indexOf(marker) + marker.length).trim();
        return reason
          .replace(
            /^key for validation \S+ is marked as invalid because of a previous validation failure <(\S+) (\S+) IN>: /i,
            (_, owner: string, failed: string) => `${failed} ${owner.toLowerCase()}: `,
          )
          .replace(/ from 127\.0\.0\.1( and 127\.0\.0\.1)*( for key \S+)?/, '')
          .replace(/ while building chain of trust$/, '');
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
};

/** A validator's verdict on one name: what unbound's flags or delv's output say. */
export type ExternalVerdict = 'secure' | 'insecure' | 'bogus' | 'other';

/** unbound's answer to one DO query, read with dig. */
export interface UnboundAnswer {
  /** SERVFAIL → bogus; NOERROR with AD → secure; NOERROR without AD → insecure. */
  readonly verdict: ExternalVerdict;
  readonly status: string;
  readonly ad: boolean;
  /** Extended DNS error unbound gave (`ede: yes`), e.g. `6 (DNSSEC Bogus): (...)`. */
  readonly ede?: string;
}

/**
 * Asks a validating resolver (unbound) for `name`/`type` with DO set (`dig +dnssec`), and reads
 * its verdict from the response code and the AD flag.
 */
export const unboundVerdict = async (
  dig: string,
  server: string,
  name: string,
  type = 'TXT',
): Promise<UnboundAnswer> => {
  const [address, port] = server.split(':');
  const { stdout } = await runCommand(dig, [
    `@${address}`,
    '-p',
    port ?? '53',
    '+dnssec',
    '+time=3',
    '+tries=1',
    name,
    type,
  ]);
  const status = /status: ([A-Z]+)/.exec(stdout)?.[1] ?? 'none';
  const ad = /;; flags:[^;]*\bad\b/.test(stdout);
  const ede = /; EDE: (.*)/.exec(stdout)?.[1]?.trim();
  const verdict: ExternalVerdict =
    status === 'SERVFAIL' ? 'bogus' : status === 'NOERROR' ? (ad ? 'secure' : 'insecure') : 'other';
  return { verdict, status, ad, ...(ede === undefined ? {} : { ede }) };
};

/** delv's own validation of one name. */
export interface DelvAnswer {
  readonly verdict: ExternalVerdict;
  /** delv's first comment line (`; fully validated`, `;; resolution failed: ...`). */
  readonly detail: string;
}

/**
 * Validates `name`/`type` with `delv` (BIND's validator, in-process like ours), anchored at the
 * lab parent: `delv @server -p PORT -a FILE +root=PARENT NAME TYPE`. delv queries with CD set, so
 * pointed at unbound it sees the data even where unbound's own verdict is bogus.
 */
export const delvVerdict = async (
  delv: string,
  server: string,
  anchorFile: string,
  root: string,
  name: string,
  type = 'TXT',
): Promise<DelvAnswer> => {
  const [address, port] = server.split(':');
  let output: string;
  try {
    const { stdout, stderr } = await runCommand(delv, [
      `@${address}`,
      '-p',
      port ?? '53',
      '-a',
      anchorFile,
      `+root=${root}`,
      name,
      type,
    ]);
    output = `${stderr}\n${stdout}`;
  } catch (error) {
    // delv exits non-zero when resolution fails; its message is the verdict.
    output = error instanceof Error ? error.message : String(error);
  }
  // delv prints one status line per RRset of the answer (a CNAME chain has several); the
  // answer is only as secure as its weakest RRset.
  const statuses = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) =>
      /^;+ (fully validated|unsigned answer|resolution failed|validation failed|negative response)/.test(
        line,
      ),
    )
    .map((line) => line.replace(/^;+\s*/, ''));
  const detail = [...new Set(statuses)].join(' + ') || (output.trim().split('\n').pop() ?? '');
  const verdict: ExternalVerdict = statuses.some((status) => /failed/.test(status))
    ? 'bogus'
    : statuses.some((status) => /unsigned answer/.test(status))
      ? 'insecure'
      : statuses.length > 0 && statuses.every((status) => /fully validated/.test(status))
        ? 'secure'
        : 'other';
  return { verdict, detail };
};
