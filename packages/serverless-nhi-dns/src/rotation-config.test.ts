import { tmpdir } from 'node:os';
import { NhiError } from '@nhi-dns/core';
import {
  DEFAULT_ROTATION_MODULE,
  type FunctionInput,
  KNOWN_OPTIONS,
  resolveConfig,
  type ServiceInput,
} from './config.js';
import { CUSTOM_SCHEMA, FUNCTION_SCHEMA } from './schema.js';

const ZONE = 'auth.example.com';
const HOSTED_ZONE_ID = 'Z0123456789ABCDEFGHIJ';

const service = (custom: unknown, functions: FunctionInput[]): ServiceInput => ({
  custom,
  stage: 'prod',
  serviceDir: tmpdir(),
  functions,
});

/** The message of the `invalid_config` error `resolveConfig` throws for this input. */
const refusal = (input: ServiceInput): string => {
  try {
    resolveConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(NhiError);
    expect((error as NhiError).reason).toBe('invalid_config');
    return (error as Error).message;
  }
  throw new Error('resolveConfig accepted the input');
};

describe('resolveConfig: rotation', () => {
  it('rotates a KMS-held key with kmsRotationHandler and a secret-held one with secretsManagerRotationHandler', () => {
    const config = resolveConfig(
      service({ zone: ZONE, hostedZoneId: `/hostedzone/${HOSTED_ZONE_ID}`, dnsServers: ['10.0.0.2'] }, [
        { key: 'billing', nhi: { identity: 'billing', sign: 'kms', rotation: { days: 90 } } },
        { key: 'reports', nhi: { identity: 'reports', sign: true, rotation: { days: 30 } } },
        // Another function of reports without the setting: the identity rotates once.
        { key: 'reportsApi', nhi: { identity: 'reports' } },
      ]),
    );
    expect(config?.rotations).toEqual([
      {
        identity: 'billing',
        name: 'billing.prod.auth.example.com',
        days: 90,
        custody: 'kms',
        keyName: 'alias/nhi/prod/billing',
        functionKey: 'nhiRotationBilling',
        handler: `${DEFAULT_ROTATION_MODULE}.kmsRotationHandler`,
        serviceName: 'nhi-rotation.billing.prod',
        environment: {
          NHI_ZONE: ZONE,
          NHI_HOSTED_ZONE_ID: HOSTED_ZONE_ID,
          NHI_DNS_SERVERS: '10.0.0.2',
          POWERTOOLS_SERVICE_NAME: 'nhi-rotation.billing.prod',
          POWERTOOLS_METRICS_NAMESPACE: 'NHI',
        },
      },
      expect.objectContaining({
        identity: 'reports',
        days: 30,
        custody: 'secret',
        keyName: '/prod/nhi/reports/signing-key',
        functionKey: 'nhiRotationReports',
        handler: `${DEFAULT_ROTATION_MODULE}.secretsManagerRotationHandler`,
      }),
    ]);
  });

  it('takes a module of your own and a hosted zone intrinsic', () => {
    const config = resolveConfig(
      service({ zone: ZONE, hostedZoneId: { Ref: 'IdentityZone' }, rotationModule: 'dist/nhi-rotation' }, [
        { key: 'orders', nhi: { identity: 'orders-worker', rotation: { days: 7 } } },
      ]),
    );
    expect(config?.rotations[0]).toMatchObject({
      functionKey: 'nhiRotationOrdersWorker',
      handler: 'dist/nhi-rotation.secretsManagerRotationHandler',
      environment: { NHI_HOSTED_ZONE_ID: { Ref: 'IdentityZone' } },
    });
  });

  it('refuses a stack-owned record: only deploying changes it', () => {
    expect(
      refusal(
        service({ zone: ZONE, recordOwner: 'stack', hostedZoneId: HOSTED_ZONE_ID }, [
          {
            key: 'reports',
            nhi: { identity: 'reports', publicKey: { kid: 'k1', publicKey: '' }, rotation: { days: 30 } },
          },
        ]),
      ),
    ).toMatch(/functions\.reports\.nhi\.rotation .* a stack-owned record changes only by deploying/);
  });

  it('needs the hosted zone id, and takes one with CLI-owned records only for a rotation', () => {
    expect(
      refusal(
        service({ zone: ZONE }, [{ key: 'reports', nhi: { identity: 'reports', rotation: { days: 30 } } }]),
      ),
    ).toMatch(
      /custom\.nhi\.hostedZoneId undefined is not allowed: functions\.reports\.nhi\.rotation writes the record/,
    );
    expect(
      refusal(
        service({ zone: ZONE, hostedZoneId: HOSTED_ZONE_ID }, [
          { key: 'reports', nhi: { identity: 'reports' } },
        ]),
      ),
    ).toMatch(/give a function rotation/);
  });

  it.each([{ days: 0 }, { days: 1001 }, { days: 1.5 }, {}, { days: 30, every: 1 }])(
    'refuses rotation %j',
    (rotation) => {
      expect(
        refusal(
          service({ zone: ZONE, hostedZoneId: HOSTED_ZONE_ID }, [
            { key: 'reports', nhi: { identity: 'reports', rotation } },
          ]),
        ),
      ).toMatch(/functions\.reports\.nhi\.rotation/);
    },
  );

  it('refuses two periods for one identity, and a function key the plugin needs', () => {
    expect(
      refusal(
        service({ zone: ZONE, hostedZoneId: HOSTED_ZONE_ID }, [
          { key: 'a', nhi: { identity: 'reports', rotation: { days: 30 } } },
          { key: 'b', nhi: { identity: 'reports', rotation: { days: 60 } } },
        ]),
      ),
    ).toMatch(/functions\.a\.nhi rotates reports every 30 days: one identity, one period/);
    expect(
      refusal(
        service({ zone: ZONE, hostedZoneId: HOSTED_ZONE_ID }, [
          { key: 'a', nhi: { identity: 'reports', rotation: { days: 30 } } },
          { key: 'nhiRotationReports', nhi: undefined },
        ]),
      ),
    ).toMatch(/functions\.nhiRotationReports .* rename that function/);
  });
});

describe('schema and rules', () => {
  it('the JSON schema Serverless checks declares exactly the options the rules check', () => {
    const functionProperties = FUNCTION_SCHEMA.properties.nhi.properties;
    expect(Object.keys(CUSTOM_SCHEMA.properties.nhi.properties).sort()).toEqual(
      [...KNOWN_OPTIONS.service].sort(),
    );
    expect(Object.keys(functionProperties).sort()).toEqual([...KNOWN_OPTIONS.function].sort());
    expect(Object.keys(CUSTOM_SCHEMA.properties.nhi.properties.alarms.properties).sort()).toEqual(
      [...KNOWN_OPTIONS.alarms].sort(),
    );
    expect(Object.keys(functionProperties.rotation.properties)).toEqual([...KNOWN_OPTIONS.rotation]);
  });
});
