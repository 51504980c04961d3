import { render } from '@nhi-dns/cli';
import { isIntrinsic, type ResolvedConfig, type ResolvedRecord } from './config.js';
import { invalidConfig } from './errors.js';
import type { CfnResource } from './template.js';

/** The `AWS::Route53::RecordSet` of a stack-owned record, by logical id. */
export interface RecordResource {
  readonly logicalId: string;
  readonly resource: CfnResource;
}

/**
 * The identity record as `nhi-dns render --format cloudformation` prints it, the same code path
 * (NHI1 text from core's formatter, publish's merge and kid-conflict rules, TXT quoting and
 * 255-byte splitting): a TXT RRset at `<identity>.<environment>.<zone>.`, one RR per key.
 *
 * @throws {NhiError} `invalid_config` naming the function's `publicKey` when a key cannot be
 *   published (bad base64, two keys under one kid).
 */
export const recordResource = (config: ResolvedConfig, record: ResolvedRecord): RecordResource => {
  const hostedZoneId = typeof config.hostedZoneId === 'string' ? config.hostedZoneId : undefined;
  let text: string;
  try {
    text = render({
      service: record.identity,
      environment: config.environment,
      zone: config.zone,
      format: 'cloudformation',
      keys: record.keys,
      ...(record.attributes === undefined ? {} : { attributes: record.attributes }),
      ...(config.recordTtl === undefined ? {} : { ttl: config.recordTtl }),
      ...(hostedZoneId === undefined ? {} : { hostedZoneId }),
    });
  } catch (error) {
    throw invalidConfig(
      `functions.${record.functions[0]}.nhi.publicKey`,
      record.keys.map((key) => key.kid),
      `the record of ${record.name} cannot be published: ${(error as Error).message}`,
      error,
    );
  }
  const resources = (JSON.parse(text) as { Resources: Record<string, CfnResource> }).Resources;
  const [entry] = Object.entries(resources);
  if (entry === undefined) throw new Error('nhi-dns render returned no resource');
  const [logicalId, resource] = entry;
  if (isIntrinsic(config.hostedZoneId)) {
    const { HostedZoneName: _name, ...properties } = resource.Properties ?? {};
    return {
      logicalId,
      resource: { ...resource, Properties: { HostedZoneId: config.hostedZoneId, ...properties } },
    };
  }
  return { logicalId, resource };
};
