import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type PublishedKey, parseTxtValue } from '@nhi-dns/cli';
import { canonicalName, type IdentityRecord, parseRecordSet } from '@nhi-dns/core';
import { invalidConfig } from './errors.js';

/** Largest key file read (a record set of a few keys is far smaller). */
export const MAX_KEY_FILE_BYTES = 1024 * 1024;

/** Keys (and the attributes they agree on) found in a key file. */
export interface KeyFileContent {
  readonly keys: readonly PublishedKey[];
  readonly attributes?: Readonly<Record<string, string>>;
}

const FORMATS =
  'the JSON that nhi-dns keygen --json prints (kid, keyType, publicKey), or what nhi-dns render prints with --format cloudformation or --format zonefile (also with --json)';

type Fail = (allowed: string, cause?: unknown) => never;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A key as keygen --json prints it: `kid`, `keyType`, `publicKey` (other members ignored). */
const keygenKey = (value: unknown, fail: Fail): PublishedKey => {
  if (!isObject(value) || typeof value.kid !== 'string' || typeof value.publicKey !== 'string') {
    return fail(FORMATS);
  }
  const keyType = value.keyType ?? 'ed25519';
  if (keyType !== 'ed25519' && keyType !== 'p256')
    return fail(`keyType ${JSON.stringify(keyType)}: ed25519 or p256`);
  return { kid: value.kid, keyType, publicKey: value.publicKey };
};

/** The RRs (character-strings each) of a Route 53 presentation value list, checked against `name`. */
const parseRecordTexts = (name: string, values: readonly string[], fail: Fail): KeyFileContent => {
  const rrs = values.map((value) => {
    const strings = parseTxtValue(value);
    if (strings === undefined)
      return fail(`the TXT value ${JSON.stringify(value.slice(0, 60))} is not well formed`);
    return strings;
  });
  const set = parseRecordSet(name, rrs);
  const problem = set.problems[0];
  if (problem !== undefined)
    return fail(`RR ${problem.index + 1} is not a valid NHI1 record (${problem.problem}: ${problem.detail})`);
  if (set.keys.length === 0) return fail(`no NHI1 key for ${name}`);
  const withExpiry = set.keys.find((key: IdentityRecord) => key.expiresAt !== undefined);
  if (withExpiry !== undefined) {
    return fail(
      `kid ${withExpiry.kid} carries exp=, which a stack-owned record cannot keep: publish it with nhi-dns publish`,
    );
  }
  return {
    keys: set.keys.map((key) => ({ kid: key.kid, keyType: key.keyType, publicKey: key.publicKey })),
    attributes: set.attributes,
  };
};

const fromCloudFormation = (name: string, template: Record<string, unknown>, fail: Fail): KeyFileContent => {
  const resources = isObject(template.Resources) ? Object.values(template.Resources) : [];
  const recordSets = resources.filter(
    (resource) =>
      isObject(resource) &&
      resource.Type === 'AWS::Route53::RecordSet' &&
      isObject(resource.Properties) &&
      resource.Properties.Type === 'TXT',
  ) as { Properties: { Name?: unknown; ResourceRecords?: unknown } }[];
  const match = recordSets.filter(
    (resource) =>
      typeof resource.Properties.Name === 'string' && canonicalName(resource.Properties.Name) === name,
  );
  if (match.length !== 1) {
    return fail(
      `exactly one TXT AWS::Route53::RecordSet named ${name}. (found ${match.length} of ${recordSets.length} record sets)`,
    );
  }
  const values = match[0]!.Properties.ResourceRecords;
  if (!Array.isArray(values) || !values.every((value) => typeof value === 'string')) {
    return fail('ResourceRecords must be a list of TXT values');
  }
  return parseRecordTexts(name, values, fail);
};

const fromZoneFile = (name: string, text: string, fail: Fail): KeyFileContent => {
  const values: string[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith(';')) continue;
    const fields = /^(\S+)\s+(?:\d+\s+)?(?:IN\s+)?TXT\s+(.+)$/i.exec(trimmed);
    if (fields === null)
      return fail(
        `a zone-file TXT line as nhi-dns render --format zonefile prints, not ${JSON.stringify(trimmed.slice(0, 60))}`,
      );
    if (canonicalName(fields[1]!) !== name) return fail(`every line must be for ${name}., not ${fields[1]}`);
    values.push(fields[2]!);
  }
  if (values.length === 0) return fail(FORMATS);
  return parseRecordTexts(name, values, fail);
};

const fromJson = (name: string, value: unknown, fail: Fail): KeyFileContent => {
  if (Array.isArray(value)) return { keys: value.map((item) => keygenKey(item, fail)) };
  if (!isObject(value)) return fail(FORMATS);
  if (isObject(value.Resources)) return fromCloudFormation(name, value, fail);
  // nhi-dns render --json: { format, text }.
  if (typeof value.format === 'string' && typeof value.text === 'string') {
    if (value.format === 'cloudformation') return fromJson(name, parseJson(value.text, fail), fail);
    if (value.format === 'zonefile') return fromZoneFile(name, value.text, fail);
    return fail(`render output in format ${value.format}: use --format cloudformation or zonefile`);
  }
  return { keys: [keygenKey(value, fail)] };
};

const parseJson = (text: string, fail: Fail): unknown => {
  try {
    return JSON.parse(text);
  } catch (error) {
    return fail(`valid JSON (${(error as Error).message})`, error);
  }
};

/**
 * Reads the public key(s) of identity `name` from a file: the JSON of `nhi-dns keygen --json`
 * (one key, or a list of them), or the output of `nhi-dns render` in format `cloudformation` or
 * `zonefile` (plain or with `--json`), whose RRs are parsed with core's NHI1 parser and must be
 * for `name`. Only public keys are read; a private JWK is refused.
 *
 * @param option - the option's path, for messages.
 * @param file - path, relative to `serviceDir` unless absolute.
 * @throws {NhiError} `invalid_config` naming the option and the file.
 */
export const readPublicKeyFile = (
  option: string,
  file: string,
  serviceDir: string,
  name: string,
): KeyFileContent => {
  const path = resolve(serviceDir, file);
  const fail: Fail = (allowed, cause) => {
    throw invalidConfig(option, file, allowed, cause);
  };
  let text: string;
  try {
    if (statSync(path).size > MAX_KEY_FILE_BYTES)
      return fail(`a file of at most ${MAX_KEY_FILE_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return fail(
      `a readable file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}, at ${path})`,
      error,
    );
  }
  if (/"d"\s*:/.test(text)) {
    return fail(
      'a file of public keys only: this one holds a private JWK member "d" (keep the private key in Secrets Manager)',
    );
  }
  const trimmed = text.trim();
  return trimmed.startsWith('{') || trimmed.startsWith('[')
    ? fromJson(name, parseJson(trimmed, fail), fail)
    : fromZoneFile(name, trimmed, fail);
};
