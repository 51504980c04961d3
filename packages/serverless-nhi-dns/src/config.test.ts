import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NhiError } from '@nhi-dns/core';
import { validateSecretName } from '@nhi-dns/secrets-inject';
import { type FunctionInput, resolveConfig, type ServiceInput } from './config.js';

const ZONE = 'auth.example.com';
const KEY = { kid: 'k1', publicKey: '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=' };

const service = (
  custom: unknown,
  functions: FunctionInput[],
  extra: Partial<ServiceInput> = {},
): ServiceInput => ({
  custom,
  stage: 'prod',
  serviceDir: tmpdir(),
  functions,
  ...extra,
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

describe('resolveConfig', () => {
  it('is a no-op for a service without nhi settings', () => {
    expect(resolveConfig(service(undefined, [{ key: 'a', nhi: undefined }]))).toBeUndefined();
  });

  it('fills in the defaults: environment from the stage, CLI-owned records, alarm thresholds', () => {
    const config = resolveConfig(
      service({ zone: 'Auth.Example.com.' }, [
        { key: 'ledger', nhi: { identity: 'ledger', secrets: ['ledger/db', 'ledger/db'] } },
      ]),
    );
    expect(config).toMatchObject({
      zone: ZONE,
      environment: 'prod',
      recordOwner: 'cli',
      records: [],
      alarms: {
        authFailureThreshold: 5,
        authFailurePeriod: 60,
        dnsMissCeiling: 1000,
        dnsMissStdDevs: 2,
        actions: [],
      },
      functions: [
        {
          key: 'ledger',
          name: 'ledger.prod.auth.example.com',
          secrets: ['/prod/ledger/db'],
          selfCheck: false,
          serviceName: 'ledger',
          environment: {
            NHI_ZONE: ZONE,
            NHI_ENVIRONMENT: 'prod',
            NHI_SELF: 'ledger.prod.auth.example.com',
            POWERTOOLS_SERVICE_NAME: 'ledger',
            POWERTOOLS_METRICS_NAMESPACE: 'NHI',
          },
        },
      ],
    });
    expect(config?.functions[0]?.signingKey).toBeUndefined();
  });

  it('names the signing key of a function that signs, and keeps a Powertools service name the user set', () => {
    const config = resolveConfig(
      service(
        { zone: ZONE, environment: 'staging' },
        [
          {
            key: 'billing',
            nhi: { identity: 'billing', sign: true },
            environment: { POWERTOOLS_SERVICE_NAME: 'billing-api' },
          },
        ],
        { stage: 'dev' },
      ),
    );
    expect(config?.functions[0]).toMatchObject({
      signingKey: '/staging/nhi/billing/signing-key',
      serviceName: 'billing-api',
      environment: { NHI_ENVIRONMENT: 'staging', NHI_SELF: 'billing.staging.auth.example.com' },
    });
    expect(config?.functions[0]?.environment.POWERTOOLS_SERVICE_NAME).toBeUndefined();
  });

  it.each([
    [
      'custom.nhi is missing',
      service(undefined, [{ key: 'a', nhi: { identity: 'a' } }]),
      'custom.nhi undefined is not allowed: functions a have nhi settings',
    ],
    ['zone is missing', service({}, []), "custom.nhi: option 'zone' is required"],
    [
      'an unknown option',
      service({ zone: ZONE, recordOwnr: 'cli' }, []),
      "unknown option 'recordOwnr' (did you mean 'recordOwner'?)",
    ],
    ['a bad zone', service({ zone: 'bad zone' }, []), 'custom.nhi.zone "bad zone" is not allowed'],
    [
      'a stage that is no label',
      service({ zone: ZONE }, [], { stage: 'Prod_1' }),
      'custom.nhi.environment (default: the stage) "Prod_1"',
    ],
    [
      'a bad record owner',
      service({ zone: ZONE, recordOwner: 'dns' }, []),
      "option 'recordOwner' is 'dns'; allowed: 'cli' | 'stack'",
    ],
    [
      'hostedZoneId with CLI-owned records',
      service({ zone: ZONE, hostedZoneId: 'Z1' }, []),
      'custom.nhi.hostedZoneId "Z1" is not allowed: it places a stack-owned record, and with recordOwner: \'cli\'',
    ],
    [
      'a bad hosted zone id',
      service({ zone: ZONE, recordOwner: 'stack', hostedZoneId: 'zone-1' }, []),
      'custom.nhi.hostedZoneId "zone-1"',
    ],
    [
      'a DNS server by name',
      service({ zone: ZONE, dnsServers: ['dns.example.com'] }, []),
      'custom.nhi.dnsServers[0] "dns.example.com"',
    ],
    [
      'an alarm period off the minute',
      service({ zone: ZONE, alarms: { dnsMissPeriod: 90 } }, []),
      "custom.nhi.alarms: option 'dnsMissPeriod' is 90; allowed: seconds, a multiple of 60",
    ],
    [
      'an unknown alarm option',
      service({ zone: ZONE, alarms: { threshold: 1 } }, []),
      "unknown option 'threshold'",
    ],
    [
      'a function without identity',
      service({ zone: ZONE }, [{ key: 'ledger', nhi: { secrets: ['db'] } }]),
      "functions.ledger.nhi: option 'identity' is required",
    ],
    [
      'an upper-case identity',
      service({ zone: ZONE }, [{ key: 'ledger', nhi: { identity: 'Ledger' } }]),
      "functions.ledger.nhi: option 'identity' is 'Ledger'",
    ],
    [
      'an allow pattern outside the zone',
      service({ zone: ZONE }, [{ key: 'l', nhi: { identity: 'l', allow: ['billing.prod.other.org'] } }]),
      'functions.l.nhi.allow ["billing.prod.other.org"]',
    ],
    [
      'a secret under nhi/',
      service({ zone: ZONE }, [{ key: 'l', nhi: { identity: 'l', secrets: ['nhi/billing/signing-key'] } }]),
      'functions.l.nhi.secrets[0] "nhi/billing/signing-key" is not allowed: nhi/ holds signing keys',
    ],
    [
      'a secret ARN',
      service({ zone: ZONE }, [
        { key: 'l', nhi: { identity: 'l', secrets: ['arn:aws:secretsmanager:eu-west-1:1:secret:x'] } },
      ]),
      'no ARNs',
    ],
    [
      'publicKey with CLI-owned records',
      service({ zone: ZONE }, [{ key: 'l', nhi: { identity: 'l', publicKey: KEY } }]),
      'functions.l.nhi.publicKey "<given>" is not allowed: one owner per record',
    ],
    [
      'a stack-owned identity without a key',
      service({ zone: ZONE, recordOwner: 'stack' }, [{ key: 'l', nhi: { identity: 'l' } }]),
      "functions.l.nhi.publicKey undefined is not allowed: with recordOwner: 'stack'",
    ],
    [
      'a key without kid',
      service({ zone: ZONE, recordOwner: 'stack' }, [
        { key: 'l', nhi: { identity: 'l', publicKey: [{ publicKey: 'x' }] } },
      ]),
      "functions.l.nhi.publicKey[0]: option 'kid' is required",
    ],
    [
      'a variable the plugin sets, set otherwise',
      service({ zone: ZONE }, [
        { key: 'l', nhi: { identity: 'l' }, environment: { NHI_SELF: 'other.prod.auth.example.com' } },
      ]),
      'functions.l.environment.NHI_SELF "other.prod.auth.example.com" is not allowed: the plugin sets NHI_SELF to "l.prod.auth.example.com"',
    ],
    [
      'a metrics namespace the alarms would not read',
      service({ zone: ZONE }, [{ key: 'l', nhi: { identity: 'l' } }], {
        providerEnvironment: { POWERTOOLS_METRICS_NAMESPACE: 'Payments' },
      }),
      'provider.environment.POWERTOOLS_METRICS_NAMESPACE "Payments"',
    ],
    [
      'a service name the alarm query cannot hold',
      service({ zone: ZONE }, [
        { key: 'l', nhi: { identity: 'l' }, environment: { POWERTOOLS_SERVICE_NAME: "x' OR '1" } },
      ]),
      'functions.l.environment.POWERTOOLS_SERVICE_NAME',
    ],
  ])('refuses %s, naming the option', (_, input, message) => {
    expect(refusal(input)).toContain(message);
  });

  it('refuses every secret name that secrets-inject refuses (it would not read it anyway)', () => {
    for (const name of [
      '../billing/db',
      '/prod/db',
      'db/',
      'a//b',
      './db',
      'db/..',
      'a:b',
      'caf\u00e9',
      '',
    ]) {
      expect(() => validateSecretName(name)).toThrow();
      const message = refusal(
        service({ zone: ZONE }, [{ key: 'l', nhi: { identity: 'l', secrets: [name] } }]),
      );
      expect(message).toContain('functions.l.nhi');
    }
  });

  it('refuses two different attribute sets for one stack-owned identity', () => {
    const nhi = (attributes: Record<string, string>) => ({ identity: 'ledger', publicKey: KEY, attributes });
    const message = refusal(
      service({ zone: ZONE, recordOwner: 'stack' }, [
        { key: 'api', nhi: nhi({ tier: 'pci' }) },
        { key: 'worker', nhi: nhi({ tier: 'internal' }) },
      ]),
    );
    expect(message).toContain('functions.worker.nhi.attributes {"tier":"internal"}');
    expect(message).toContain('functions.api.nhi gives identity ledger {"tier":"pci"}');
  });

  it('collects the keys of one identity from its functions and from a key file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nhi-config-'));
    try {
      writeFileSync(
        join(dir, 'k2.json'),
        JSON.stringify({ kid: 'k2', keyType: 'ed25519', publicKey: KEY.publicKey }),
      );
      const config = resolveConfig(
        service(
          { zone: ZONE, recordOwner: 'stack', recordTtl: 60 },
          [
            { key: 'api', nhi: { identity: 'ledger', publicKey: KEY, attributes: { tier: 'pci' } } },
            { key: 'worker', nhi: { identity: 'ledger', publicKeyFile: 'k2.json' } },
          ],
          { serviceDir: dir },
        ),
      );
      expect(config?.records).toEqual([
        {
          identity: 'ledger',
          name: 'ledger.prod.auth.example.com',
          keys: [
            { ...KEY, keyType: 'ed25519' },
            { kid: 'k2', keyType: 'ed25519', publicKey: KEY.publicKey },
          ],
          attributes: { tier: 'pci' },
          functions: ['api', 'worker'],
        },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
