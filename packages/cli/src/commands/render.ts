import { formatIdentityName, type IdentityRecordInput } from '@nhi-dns/core';
import { usageError } from '../errors.js';
import type { PublishedKey } from '../keys.js';
import { currentRecordOf, DEFAULT_TTL } from '../record-update.js';
import { mergeKeys, normalizeHostedZoneId, type TxtRecordSet } from '../route53-rrset.js';
import { checkLogicalId, checkPublishedKey, checkTarget, checkTtl } from '../validation.js';
import { planPutKey } from './publish.js';

/** Output formats of {@link render}. */
export const RENDER_FORMATS = ['sam', 'cloudformation', 'zonefile'] as const;
/** One of {@link RENDER_FORMATS}. */
export type RenderFormat = (typeof RENDER_FORMATS)[number];

/** Options of {@link render}. */
export interface RenderOptions {
  readonly service: string;
  readonly environment: string;
  readonly zone: string;
  readonly format: RenderFormat;
  /** The keys to publish; every one becomes one RR of the RRset. */
  readonly keys: readonly PublishedKey[];
  /** `x-` attributes, put on every key. Default none. */
  readonly attributes?: Readonly<Record<string, string>>;
  /** TTL in seconds. Default {@link DEFAULT_TTL}. */
  readonly ttl?: number;
  /** `HostedZoneId` of the resource; default: `HostedZoneName` from the zone. */
  readonly hostedZoneId?: string;
  /** Logical id of the resource. Default `NhiIdentity<Service><Environment>` (alphanumerics only). */
  readonly logicalId?: string;
}

const pascal = (label: string): string =>
  label
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

/** Parses `--format`. @throws {CliError} usage error. */
export const parseRenderFormat = (value: string): RenderFormat => {
  const format = RENDER_FORMATS.find((candidate) => candidate === value);
  if (format === undefined) throw usageError(`--format must be one of ${RENDER_FORMATS.join(', ')}`);
  return format;
};

/**
 * YAML of a plain JSON value. Every string is written JSON-quoted, which YAML 1.2 reads as the
 * same string, so TXT values full of `"`, `;` and `=` need no YAML escaping rules of their own.
 */
const toYaml = (value: unknown, indent = ''): string => {
  if (Array.isArray(value)) {
    return value.map((item) => `${indent}- ${toYaml(item, `${indent}  `).trimStart()}`).join('\n');
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value)
      .map(([key, item]) =>
        typeof item === 'object' && item !== null
          ? `${indent}${key}:\n${toYaml(item, `${indent}  `)}`
          : `${indent}${key}: ${toYaml(item)}`,
      )
      .join('\n');
  }
  return JSON.stringify(value);
};

/**
 * Renders the identity RRset for teams that deploy DNS as code: an `AWS::Route53::RecordSet`
 * resource (YAML for SAM, JSON for CloudFormation) or zone-file lines. Offline: calls nothing.
 * Like UPSERT, such a resource owns the whole RRset, so `keys` must list every key to keep.
 *
 * @throws {CliError} usage error for a bad option; `kid_conflict` (exit code 4, as `publish`)
 * for two different keys under one `kid`.
 */
export const render = (options: RenderOptions): string => {
  checkTarget(options);
  if (options.keys.length === 0) throw usageError('render needs at least one key');
  const name = formatIdentityName(options);
  const ttl = options.ttl === undefined ? DEFAULT_TTL : checkTtl(options.ttl);
  // Merge the keys one by one as publish would, through the same plan, so that what render
  // prints is what publish would accept: two different keys under one kid are a kid_conflict
  // (verifiers reject both RRs), the same key twice is one RR.
  let recordSet: TxtRecordSet = { name, exists: false, values: [] };
  for (const key of options.keys) {
    const input: IdentityRecordInput = {
      service: options.service,
      environment: options.environment,
      kid: checkPublishedKey(key).kid,
      keyType: key.keyType,
      publicKey: key.publicKey,
      ...(key.certThumbprint === undefined ? {} : { certThumbprint: key.certThumbprint }),
      ...(options.attributes === undefined ? {} : { attributes: options.attributes }),
    };
    const changes = planPutKey(currentRecordOf(recordSet), input);
    recordSet = { name, exists: true, values: mergeKeys(name, recordSet.values, changes) };
  }
  const { values } = recordSet;
  if (options.format === 'zonefile') {
    return `${values.map((value) => `${name}.\t${ttl}\tIN\tTXT\t${value}`).join('\n')}\n`;
  }
  const logicalId =
    options.logicalId ?? `NhiIdentity${pascal(options.service)}${pascal(options.environment)}`;
  checkLogicalId(logicalId);
  const zone = name.slice(`${options.service}.${options.environment}.`.length);
  const template = {
    Resources: {
      [logicalId]: {
        Type: 'AWS::Route53::RecordSet',
        Properties: {
          ...(options.hostedZoneId === undefined
            ? { HostedZoneName: `${zone}.` }
            : { HostedZoneId: normalizeHostedZoneId(options.hostedZoneId) }),
          Name: `${name}.`,
          Type: 'TXT',
          TTL: String(ttl),
          ResourceRecords: values,
        },
      },
    },
  };
  return options.format === 'cloudformation'
    ? `${JSON.stringify(template, null, 2)}\n`
    : `${toYaml(template)}\n`;
};
