import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './process.js';
import { ownerOf, renderTxtRecord, type TxtRecord } from './zone-file.js';

/** Options of {@link signZoneOffline}. */
export interface OfflineSigningOptions {
  ldnsKeygen: string;
  ldnsSignzone: string;
  /** Folder for the keys and the signed file (created if needed). */
  directory: string;
  origin: string;
  /** The unsigned zone file. */
  zoneFile: string;
  /**
   * RRs that replace the signed TXT RRsets of their owners after signing, keeping the original
   * RRSIGs: what an attacker who altered the answer would serve. Default: none.
   */
  tamperedRecords?: readonly TxtRecord[];
  /** TTL of the tampered records, seconds. Default 1. */
  recordTtl?: number;
}

/** A zone signed with keys of its own. */
export interface OfflineSignedZone {
  /** The signed (and possibly tampered) zone file, to serve with signing off. */
  signedFile: string;
  /** The KSK as a DNSKEY line, the trust anchor for a validator. */
  keySigningKey: string;
}

const TXT_LINE = /^(\S+)\s+\d+\s+IN\s+TXT\s/i;

/**
 * Signs a zone the way an operator signing offline would (`ldns-keygen`, `ldns-signzone`,
 * Ed25519 KSK + ZSK, NSEC), then replaces the TXT RRsets of `tamperedRecords`' owners without
 * re-signing them, so a validator finds signatures that do not match.
 */
export const signZoneOffline = async (options: OfflineSigningOptions): Promise<OfflineSignedZone> => {
  const { directory, origin } = options;
  await mkdir(directory, { recursive: true });
  // ldns-keygen writes K<origin>+015+<tag>.{key,private} into its working folder, prints the base name.
  const keygen = async (...flags: string[]) =>
    (
      await runCommand(options.ldnsKeygen, [...flags, '-a', 'ED25519', origin], { cwd: directory })
    ).stdout.trim();
  const ksk = await keygen('-k');
  const zsk = await keygen();
  const signed = join(directory, `${origin}.signed`);
  await runCommand(options.ldnsSignzone, ['-o', `${origin}.`, '-f', signed, options.zoneFile, ksk, zsk], {
    cwd: directory,
  });
  const keySigningKey = (await readFile(join(directory, `${ksk}.key`), 'utf8')).trim();

  const tampered = options.tamperedRecords ?? [];
  if (tampered.length > 0) {
    const owners = new Set(tampered.map(ownerOf));
    const kept = (await readFile(signed, 'utf8')).split('\n').filter((line) => {
      const owner = TXT_LINE.exec(line)?.[1];
      return owner === undefined || !owners.has(owner.toLowerCase().replace(/\.$/, ''));
    });
    const forged = tampered.map((record) => renderTxtRecord(record, options.recordTtl ?? 1));
    await writeFile(signed, `${[...kept.filter(Boolean), ...forged].join('\n')}\n`);
  }
  return { signedFile: signed, keySigningKey };
};
