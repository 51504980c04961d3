import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createTestCertificate } from '@nhi-dns/core/test-support';
import { DnsError } from '@nhi-dns/resolver';
import type { CliDeps } from './cli.js';
import { runCli } from './cli.js';
import type { TxtResolver } from './commands/check.js';
import { fakeAws, NAME, NOW_MS, ZONE_ID } from './fake-aws.test-helper.js';
import { generateSigningKey } from './keys.js';
import { storeSigningKey } from './secret-store.js';

const TARGET_ARGS = [
  '--service',
  'billing',
  '--env',
  'prod',
  '--zone',
  'auth.example.com',
  '--hosted-zone-id',
  ZONE_ID,
];

const harness = (resolver?: TxtResolver) => {
  const aws = fakeAws();
  const out: string[] = [];
  const err: string[] = [];
  const clientConfigs: unknown[] = [];
  const resolverConfigs: unknown[] = [];
  const deps: CliDeps = {
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
    createAwsClients: (config) => {
      clientConfigs.push(config);
      return { route53: aws.route53, secrets: aws.secrets };
    },
    createResolver: (config) => {
      resolverConfigs.push(config);
      return resolver ?? { resolveTxt: async () => Promise.reject(new Error('no resolver')) };
    },
    now: () => NOW_MS,
    sleep: async (ms) => {
      aws.events.push(`sleep ${ms}`);
    },
  };
  return {
    aws,
    run: (...argv: string[]) => runCli(argv, deps),
    stdout: () => out.join(''),
    stderr: () => err.join(''),
    clientConfigs,
    resolverConfigs,
  };
};

describe('nhi-dns (in process)', () => {
  it('prints help with exit code 0', async () => {
    const cli = harness();
    await expect(cli.run('--help')).resolves.toBe(0);
    for (const command of ['keygen', 'publish', 'rotate', 'revoke', 'check', 'render', 'sign']) {
      expect(cli.stdout()).toContain(command);
    }
  });

  it.each([
    ['an unknown command', ['frobnicate']],
    ['a missing required option', ['publish', '--service', 'billing']],
    ['a bad --ttl', ['publish', ...TARGET_ARGS, '--ttl', '-1']],
    ['a bad --alg', ['keygen', ...TARGET_ARGS, '--alg', 'rsa']],
    [
      'a bad label',
      [
        'publish',
        ...TARGET_ARGS.map((arg) => (arg === 'billing' ? 'Bill_ing' : arg)),
        '--public-key',
        'x',
        '--kid',
        'a',
      ],
    ],
    ['--public-key without --kid', ['publish', ...TARGET_ARGS, '--public-key', 'AAAA']],
    ['rotate without --overlap', ['rotate', ...TARGET_ARGS]],
    ['no command at all', []],
  ])('exits 2 for %s, without calling AWS', async (_, argv) => {
    const cli = harness();
    await expect(cli.run(...argv)).resolves.toBe(2);
    expect(cli.aws.route53Mock.calls()).toHaveLength(0);
    expect(cli.stderr()).not.toBe('');
  });

  it('exits 3 on an AWS error, naming it', async () => {
    const cli = harness();
    cli.aws.route53Mock
      .on(ListResourceRecordSetsCommand)
      .rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDenied', $metadata: {} }));
    await expect(cli.run('revoke', ...TARGET_ARGS, '--kid', 'a')).resolves.toBe(3);
    expect(cli.stderr()).toContain('AWS AccessDenied: User is not authorized');
  });

  it('exits 4 when it refuses to weaken the record, with a JSON error under --json', async () => {
    const cli = harness();
    await expect(cli.run('--json', 'revoke', ...TARGET_ARGS, '--kid', 'nope')).resolves.toBe(4);
    expect(JSON.parse(cli.stdout())).toEqual({
      error: { reason: 'unknown_kid', message: `kid nope is not published at ${NAME}` },
    });
  });

  it('keygen then publish: JSON output without the private key, second publish unchanged', async () => {
    const cli = harness();
    await expect(
      cli.run(
        'keygen',
        ...TARGET_ARGS,
        '--alg',
        'p256',
        '--json',
        '--profile',
        'ci',
        '--region',
        'eu-west-1',
      ),
    ).resolves.toBe(0);
    const result = JSON.parse(cli.stdout());
    expect(result).toMatchObject({ kid: 'k20261125T151300Z', keyType: 'p256', record: { status: 'INSYNC' } });
    const stored = JSON.parse(cli.aws.secretVersions('/prod/nhi/billing/signing-key')[0] ?? '{}');
    expect(cli.stdout()).not.toContain(stored.d);
    expect(cli.stderr()).not.toContain(stored.d);
    expect(cli.clientConfigs).toEqual([{ profile: 'ci', region: 'eu-west-1' }]);
    await expect(cli.run('publish', ...TARGET_ARGS)).resolves.toBe(0);
    expect(cli.stdout()).toContain(`${NAME}: unchanged`);
  });

  it('--dry-run prints the change batch and writes nothing', async () => {
    const cli = harness();
    const key = await generateSigningKey('ed25519', 'k1');
    await expect(
      cli.run(
        'publish',
        ...TARGET_ARGS,
        '--public-key',
        key.publicKey,
        '--kid',
        'k1',
        '--dry-run',
        '--attr',
        'tier=pci',
      ),
    ).resolves.toBe(0);
    expect(cli.stdout()).toContain('change batch (not submitted)');
    expect(cli.stdout()).toContain('\\"v=NHI1; svc=billing; env=prod; kid=k1; k=ed25519;');
    expect(cli.stdout()).toContain('x-tier=pci');
    expect(cli.aws.changeCalls()).toBe(0);
  });

  it('rotate prints when and how to finish', async () => {
    const cli = harness();
    await cli.run('keygen', ...TARGET_ARGS, '--kid', 'k0');
    await expect(cli.run('rotate', ...TARGET_ARGS, '--overlap', '3600', '--kid', 'k1')).resolves.toBe(0);
    expect(cli.stdout()).toContain('retiring k0: they expire at 2026-11-25T16:13:00.000Z');
    expect(cli.stdout()).toContain('after 2026-11-25T16:13:00.000Z run: nhi-dns rotate --finish');
  });

  it('rotate --dry-run shows the propagation wait, --json reports it, --propagation-wait 0 skips it', async () => {
    const cli = harness();
    await cli.run('keygen', ...TARGET_ARGS, '--kid', 'k0', '--propagation-wait', '0');
    await expect(
      cli.run('rotate', ...TARGET_ARGS, '--overlap', '3600', '--kid', 'k1', '--dry-run'),
    ).resolves.toBe(0);
    expect(cli.stdout()).toContain(
      'would publish new key k1, then store it in /prod/nhi/billing/signing-key after a 305 s propagation wait',
    );
    expect(cli.aws.events.filter((event) => event.startsWith('sleep 305'))).toEqual([]);
    const before = cli.stdout().length;
    await expect(
      cli.run(
        '--json',
        'rotate',
        ...TARGET_ARGS,
        '--overlap',
        '3600',
        '--kid',
        'k1',
        '--propagation-wait',
        '0',
      ),
    ).resolves.toBe(0);
    expect(JSON.parse(cli.stdout().slice(before))).toMatchObject({
      kid: 'k1',
      propagationWaitSeconds: 0,
      resumed: false,
    });
    expect(cli.aws.events.filter((event) => event.startsWith('sleep 305'))).toEqual([]);
    await expect(
      cli.run('rotate', ...TARGET_ARGS, '--overlap', '3600', '--propagation-wait', '-1'),
    ).resolves.toBe(2);
  });

  it('check exits 0 when DNS matches and 1 when it does not', async () => {
    const key = await generateSigningKey('ed25519', 'k1');
    const record = `v=NHI1; svc=billing; env=prod; kid=k1; k=ed25519; p=${key.publicKey}`;
    const good = harness({
      resolveTxt: async () => ({ records: [[record]], ttl: 300, ad: false, outcome: 'miss' }),
    });
    await expect(
      good.run('check', '--service', 'billing', '--env', 'prod', '--zone', 'auth.example.com'),
    ).resolves.toBe(0);
    expect(good.stdout()).toContain(`${NAME}: OK`);
    const bad = harness({
      resolveTxt: async () => ({ records: [], ttl: 0, ad: false, outcome: 'nxdomain' }),
    });
    await expect(
      bad.run('check', '--service', 'billing', '--env', 'prod', '--zone', 'auth.example.com'),
    ).resolves.toBe(1);
    expect(bad.stdout()).toContain('no_record');
  });

  it('render --replace prints zone-file text of the given keys only, offline', async () => {
    const cli = harness();
    const key = await generateSigningKey('ed25519', 'k1');
    await expect(
      cli.run(
        'render',
        '--service',
        'billing',
        '--env',
        'prod',
        '--zone',
        'auth.example.com',
        '--format',
        'zonefile',
        '--public-key',
        key.publicKey,
        '--kid',
        'k1',
        '--replace',
      ),
    ).resolves.toBe(0);
    expect(cli.stdout()).toBe(
      `${NAME}.\t300\tIN\tTXT\t"v=NHI1; svc=billing; env=prod; kid=k1; k=ed25519; p=${key.publicKey}"\n`,
    );
    expect(cli.clientConfigs).toHaveLength(0);
  });

  it('render without --hosted-zone-id or --replace exits 2 before any AWS call, naming both', async () => {
    const cli = harness();
    const key = await generateSigningKey('ed25519', 'k1');
    await expect(
      cli.run(
        'render',
        ...TARGET_ARGS.slice(0, 6),
        '--format',
        'sam',
        '--public-key',
        key.publicKey,
        '--kid',
        'k1',
      ),
    ).resolves.toBe(2);
    expect(cli.stderr()).toContain('--hosted-zone-id');
    expect(cli.stderr()).toContain('--replace');
    expect(cli.stdout()).toBe('');
    // Without a key given, the refusal comes before the signing-key secret is read too.
    const stored = harness();
    await expect(stored.run('render', ...TARGET_ARGS.slice(0, 6), '--format', 'sam')).resolves.toBe(2);
    expect(stored.clientConfigs).toHaveLength(0);
  });

  it('render --hosted-zone-id prints the published RRset with the stored key in it, as publish writes it', async () => {
    const cli = harness();
    const other = await generateSigningKey('ed25519', 'k0');
    const otherValue = `"v=NHI1; svc=billing; env=prod; kid=k0; k=ed25519; p=${other.publicKey}; exp=1900000000; x-tier=pci"`;
    cli.aws.setTxt(NAME, ['"v=spf1 -all"', otherValue], 120);
    const mine = await generateSigningKey('ed25519', 'k1');
    await storeSigningKey({
      secrets: cli.aws.secrets,
      service: 'billing',
      environment: 'prod',
      privateJwk: mine.privateJwk,
    });
    await expect(cli.run('render', ...TARGET_ARGS, '--format', 'zonefile')).resolves.toBe(0);
    const rendered = cli.stdout().trimEnd().split('\n');
    expect(rendered.slice(0, 2)).toEqual([
      `${NAME}.\t120\tIN\tTXT\t"v=spf1 -all"`,
      `${NAME}.\t120\tIN\tTXT\t${otherValue}`,
    ]);
    expect(cli.stderr()).toContain(`${NAME}: rendered over the 2 TXT values published there`);
    await expect(cli.run('publish', ...TARGET_ARGS)).resolves.toBe(0);
    expect(rendered).toEqual(cli.aws.txt(NAME)?.map((value) => `${NAME}.\t120\tIN\tTXT\t${value}`));
    // --replace renders the stored key alone even with a hosted zone id, and reads no RRset.
    const replacing = harness();
    await storeSigningKey({
      secrets: replacing.aws.secrets,
      service: 'billing',
      environment: 'prod',
      privateJwk: mine.privateJwk,
    });
    replacing.aws.setTxt(NAME, [otherValue]);
    await expect(replacing.run('render', ...TARGET_ARGS, '--format', 'zonefile', '--replace')).resolves.toBe(
      0,
    );
    expect(replacing.stdout()).not.toContain('kid=k0');
    expect(replacing.aws.route53Mock.commandCalls(ListResourceRecordSetsCommand)).toHaveLength(0);
  });
});

const IDENTITY_ARGS = ['--service', 'billing', '--env', 'prod', '--zone', 'auth.example.com'];

/** One command line per command, all valid, to which a bad value is then added. */
const EVERY_COMMAND: Array<[string, string[]]> = [
  ['keygen', ['keygen', ...TARGET_ARGS]],
  ['publish', ['publish', ...TARGET_ARGS]],
  ['rotate', ['rotate', ...TARGET_ARGS, '--overlap', '3600']],
  ['rotate --finish', ['rotate', '--finish', ...TARGET_ARGS]],
  ['revoke', ['revoke', ...TARGET_ARGS, '--kid', 'k1']],
  ['check', ['check', ...TARGET_ARGS]],
  ['render', ['render', ...TARGET_ARGS, '--format', 'sam']],
];

/** Replaces the value of `flag` in `argv`. */
const withValue = (argv: string[], flag: string, value: string): string[] =>
  argv.map((arg, index) => (argv[index - 1] === flag ? value : arg));

describe('nhi-dns: usage errors before any AWS call or DNS lookup (issue 12, item 10)', () => {
  const expectNothingCalled = (cli: ReturnType<typeof harness>) => {
    expect(cli.clientConfigs).toEqual([]);
    expect(cli.resolverConfigs).toEqual([]);
    expect(cli.aws.route53Mock.calls()).toHaveLength(0);
    expect(cli.aws.secretsMock.calls()).toHaveLength(0);
  };

  it.each(EVERY_COMMAND)('%s --env PROD exits 2 without calling AWS (as render does)', async (_, argv) => {
    const cli = harness();
    await expect(cli.run(...withValue(argv, '--env', 'PROD'))).resolves.toBe(2);
    expect(cli.stderr()).toContain('--env must be a lower-case label');
    expectNothingCalled(cli);
  });

  it.each(EVERY_COMMAND)("%s --hosted-zone-id 'not-an-id!' exits 2 without calling AWS", async (_, argv) => {
    const cli = harness();
    await expect(cli.run(...withValue(argv, '--hosted-zone-id', 'not-an-id!'))).resolves.toBe(2);
    expect(cli.stderr()).toContain('--hosted-zone-id must be a Route 53 hosted zone id');
    expectNothingCalled(cli);
  });

  it.each(EVERY_COMMAND)(
    '%s with a bad --region, --zone or --kid exits 2 without calling AWS',
    async (_, argv) => {
      for (const bad of [
        ['--region', 'nowhere', ...argv],
        withValue(argv, '--zone', 'bad zone'),
        [...argv, '--kid', 'bad kid'],
      ]) {
        const cli = harness();
        await expect(cli.run(...bad)).resolves.toBe(2);
        expectNothingCalled(cli);
      }
    },
  );

  it.each([['nonsense'], ['dns.google'], ['10.0.0.2:99999'], ['[10.0.0.2]:53']])(
    'check --server %s exits 2 (usage) without a lookup',
    async (server) => {
      const cli = harness();
      await expect(cli.run('check', ...IDENTITY_ARGS, '--server', server)).resolves.toBe(2);
      expect(cli.stderr()).toContain('--server must be an IPv4 or IPv6 address');
      expectNothingCalled(cli);
    },
  );

  it('check passes valid --server values (IPv4/IPv6, optional port) to the resolver', async () => {
    const cli = harness({
      resolveTxt: async () => ({ records: [], ttl: 0, ad: false, outcome: 'nxdomain' }),
    });
    await cli.run(
      'check',
      ...IDENTITY_ARGS,
      '--server',
      '10.0.0.2:53',
      '--server',
      '[::1]:5353',
      '--server',
      '::1',
    );
    expect(cli.resolverConfigs).toEqual([{ servers: ['10.0.0.2:53', '[::1]:5353', '::1'] }]);
  });

  it('publish refuses a bad --attr or --public-key before calling AWS', async () => {
    for (const bad of [
      ['publish', ...TARGET_ARGS, '--attr', 'tier=a;b'],
      ['publish', ...TARGET_ARGS, '--public-key', 'not base64!', '--kid', 'k1'],
      ['render', ...IDENTITY_ARGS, '--replace', '--format', 'sam', '--public-key', 'AAAA', '--kid', 'k1'],
      ['render', ...IDENTITY_ARGS, '--replace', '--format', 'sam', '--logical-id', 'bad-id'],
      ['publish', ...TARGET_ARGS, '--public-key', 'AAAA', '--kid', 'k1', '--cert', '/nonexistent/cert.pem'],
      ['publish', ...TARGET_ARGS, '--public-key', 'AAAA', '--kid', 'k1', '--cert', 'package.json'],
    ]) {
      const cli = harness();
      await expect(cli.run(...bad)).resolves.toBe(2);
      expectNothingCalled(cli);
    }
  });

  it('publish --cert pins the certificate of a PEM file (x5t-s256)', async () => {
    const certificate = createTestCertificate('billing');
    const dir = mkdtempSync(join(tmpdir(), 'nhi-cli-'));
    try {
      const pemFile = join(dir, 'billing.pem');
      writeFileSync(pemFile, certificate.pem);
      const key = await generateSigningKey('ed25519', 'k1');
      const cli = harness();
      await expect(
        cli.run('publish', ...TARGET_ARGS, '--public-key', key.publicKey, '--kid', 'k1', '--cert', pemFile),
      ).resolves.toBe(0);
      expect(cli.aws.txt(NAME)?.join('')).toContain(`x5t-s256=${certificate.thumbprint}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('nhi-dns: exit codes as README documents them (issue 12, item 10)', () => {
  it('render with two keys under one kid exits 4 (kid_conflict), as publish does for that key', async () => {
    const a = await generateSigningKey('ed25519', 'k1');
    const b = await generateSigningKey('ed25519', 'k1');
    const cli = harness();
    const rendered = await cli.run(
      '--json',
      'render',
      ...IDENTITY_ARGS,
      '--replace',
      '--format',
      'zonefile',
      '--public-key',
      a.publicKey,
      '--kid',
      'k1',
      '--public-key',
      b.publicKey,
      '--kid',
      'k1',
    );
    expect(rendered).toBe(4);
    expect(JSON.parse(cli.stdout())).toMatchObject({ error: { reason: 'kid_conflict' } });
    // publish, given the same two keys one after the other, refuses the second the same way.
    const publishing = harness();
    await expect(
      publishing.run('publish', ...TARGET_ARGS, '--public-key', a.publicKey, '--kid', 'k1'),
    ).resolves.toBe(0);
    await expect(
      publishing.run('--json', 'publish', ...TARGET_ARGS, '--public-key', b.publicKey, '--kid', 'k1'),
    ).resolves.toBe(rendered);
    expect(publishing.stdout()).toContain('"reason":"kid_conflict"');
  });

  it('publish of a signing-key secret whose x is not its d exits 4 with reason key_mismatch (issue 13)', async () => {
    const cli = harness();
    const [victim, attacker] = [
      await generateSigningKey('ed25519', 'k1'),
      await generateSigningKey('ed25519', 'k1'),
    ];
    cli.aws.setSecret(
      '/prod/nhi/billing/signing-key',
      JSON.stringify({ ...attacker.privateJwk, x: victim.privateJwk.x }),
    );
    await expect(cli.run('--json', 'publish', ...TARGET_ARGS)).resolves.toBe(4);
    expect(JSON.parse(cli.stdout())).toMatchObject({ error: { reason: 'key_mismatch' } });
    expect(cli.stdout() + cli.stderr()).not.toContain(attacker.privateJwk.d);
    expect(cli.aws.changeCalls()).toBe(0);
  });

  it('publish and render of a current key nhi-dns did not store exit 4 with reason untrusted_key', async () => {
    const cli = harness();
    await expect(cli.run('keygen', ...TARGET_ARGS, '--kid', 'k1', '--propagation-wait', '0')).resolves.toBe(
      0,
    );
    const changes = cli.aws.changeCalls();
    const printed = cli.stdout().length;
    const attacker = await generateSigningKey('ed25519', 'kevil');
    cli.aws.putSecretValue('/prod/nhi/billing/signing-key', JSON.stringify(attacker.privateJwk));
    await expect(cli.run('--json', 'publish', ...TARGET_ARGS)).resolves.toBe(4);
    const { error } = JSON.parse(cli.stdout().slice(printed));
    expect(error.reason).toBe('untrusted_key');
    expect(error.message).toContain('key kevil');
    expect(error.message).toContain('not written by nhi-dns keygen/rotate');
    expect(cli.stdout() + cli.stderr()).not.toContain(attacker.privateJwk.d);
    expect(cli.aws.changeCalls()).toBe(changes);
    const rendering = harness();
    rendering.aws.setSecret('/prod/nhi/billing/signing-key', JSON.stringify(attacker.privateJwk));
    await expect(
      rendering.run('--json', 'render', ...TARGET_ARGS.slice(0, 6), '--replace', '--format', 'zonefile'),
    ).resolves.toBe(4);
    expect(rendering.stdout()).toContain('"reason":"untrusted_key"');
  });

  it('keygen and publish of a new name print the negative-TTL wait; --propagation-wait 0 prints a warning', async () => {
    const cli = harness();
    await expect(cli.run('keygen', ...TARGET_ARGS, '--kid', 'k1')).resolves.toBe(0);
    expect(cli.stdout()).toContain('after a 905 s propagation wait');
    expect(cli.aws.events).toContain('sleep 905000');
    const other = harness();
    const key = await generateSigningKey('ed25519', 'k1');
    await expect(
      other.run(
        'publish',
        ...TARGET_ARGS,
        '--public-key',
        key.publicKey,
        '--kid',
        'k1',
        '--propagation-wait',
        '0',
      ),
    ).resolves.toBe(0);
    expect(other.stdout()).toMatch(/WARNING: .*negative TTL is 900 s/);
    expect(other.aws.events.filter((event) => event.startsWith('sleep'))).toEqual([]);
  });

  it('missing AWS credentials exit 3 (AWS error) with reason aws_credentials and what to do', async () => {
    const cli = harness();
    cli.aws.secretsMock.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
    );
    await expect(cli.run('--json', 'publish', ...TARGET_ARGS)).resolves.toBe(3);
    const { error } = JSON.parse(cli.stdout());
    expect(error.reason).toBe('aws_credentials');
    expect(error.message).toContain('--profile');
  });

  it('a missing region exits 3 with reason aws_region, naming --region and AWS_REGION', async () => {
    const cli = harness();
    cli.aws.secretsMock.on(GetSecretValueCommand).rejects(new Error('Region is missing'));
    await expect(cli.run('--json', 'publish', ...TARGET_ARGS)).resolves.toBe(3);
    const { error } = JSON.parse(cli.stdout());
    expect(error.reason).toBe('aws_region');
    expect(error.message).toContain('--region');
    expect(error.message).toContain('AWS_REGION');
    expect(cli.stderr()).toContain('--region');
  });

  it("a DNS lookup failure in check exits 1 with the resolver's reason, not an error class name", async () => {
    const cli = harness({
      resolveTxt: async () => Promise.reject(new DnsError('timeout', 'no answer within 1000 ms')),
    });
    await expect(cli.run('--json', 'check', ...IDENTITY_ARGS)).resolves.toBe(1);
    expect(JSON.parse(cli.stdout()).problems).toEqual([
      { code: 'dns_failure', reason: 'timeout', detail: 'lookup failed: timeout (no answer within 1000 ms)' },
    ]);
    const untyped = harness({ resolveTxt: async () => Promise.reject(new Error('boom')) });
    await expect(untyped.run('--json', 'check', ...IDENTITY_ARGS)).resolves.toBe(1);
    expect(JSON.parse(untyped.stdout()).problems[0]).toMatchObject({
      code: 'dns_failure',
      reason: 'dns_failure',
    });
    expect(untyped.stdout()).not.toContain('Error');
  });

  it('check always asks for DNSSEC and reports AD truthfully; --require-dnssec only decides failing', async () => {
    const key = await generateSigningKey('ed25519', 'k1');
    const record = `v=NHI1; svc=billing; env=prod; kid=k1; k=ed25519; p=${key.publicKey}`;
    const asked: unknown[] = [];
    // A validating resolver: AD only when the query asked for DNSSEC (the DO bit).
    const validating = (signed: boolean): TxtResolver => ({
      resolveTxt: async (_name, options) => {
        asked.push(options);
        return { records: [[record]], ttl: 300, ad: signed && options?.dnssec === true, outcome: 'miss' };
      },
    });
    const signed = harness(validating(true));
    await expect(signed.run('check', ...IDENTITY_ARGS)).resolves.toBe(0);
    expect(signed.stdout()).toContain('AD true');
    const unsigned = harness(validating(false));
    await expect(unsigned.run('check', ...IDENTITY_ARGS)).resolves.toBe(0);
    expect(unsigned.stdout()).toContain('AD false');
    await expect(unsigned.run('check', ...IDENTITY_ARGS, '--require-dnssec')).resolves.toBe(1);
    expect(unsigned.stdout()).toContain('dnssec_required');
    expect(asked).toEqual([{ dnssec: true }, { dnssec: true }, { dnssec: true }]);
  });
});

describe('nhi-dns: --version and help (issue 12, item 10)', () => {
  it('the program help lists the exit codes, including the AWS configuration reasons', async () => {
    const cli = harness();
    await expect(cli.run('--help')).resolves.toBe(0);
    expect(cli.stdout()).toContain('Exit codes:');
    expect(cli.stdout()).toContain('aws_credentials, aws_region');
    expect(cli.stdout()).toContain('5 sign --key-file refused a key file that group or others can access');
  });

  it('a usage error under --json also prints the JSON error document', async () => {
    const cli = harness();
    await expect(cli.run('keygen', ...withValue(TARGET_ARGS, '--env', 'PROD'), '--json')).resolves.toBe(2);
    expect(JSON.parse(cli.stdout())).toEqual({
      error: { reason: 'usage', message: expect.stringContaining('--env must be a lower-case label') },
    });
  });

  it('--version prints the version of its own package.json and exits 0', async () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const cli = harness();
    await expect(cli.run('--version')).resolves.toBe(0);
    expect(cli.stdout()).toBe(`${manifest.version}\n`);
    const short = harness();
    await expect(short.run('-V')).resolves.toBe(0);
    expect(short.stdout()).toBe(`${manifest.version}\n`);
  });

  it.each([
    ['keygen', ['--service', '--env', '--zone', '--hosted-zone-id']],
    ['publish', ['--service', '--env', '--zone', '--hosted-zone-id']],
    ['rotate', ['--service', '--env', '--zone', '--hosted-zone-id']],
    ['revoke', ['--service', '--env', '--zone', '--hosted-zone-id', '--kid']],
    ['check', ['--service', '--env', '--zone']],
    ['render', ['--service', '--env', '--zone', '--format']],
    ['sign', ['--iss', '--aud']],
  ])('%s --help marks its required options and lists the global ones', async (command, required) => {
    const cli = harness();
    await expect(cli.run(command, '--help')).resolves.toBe(0);
    const help = cli.stdout();
    // Each option's entry runs from its flag to the next option (descriptions may wrap).
    const entries = help.split(/\n(?= {2}-)/);
    const entry = (flag: string) => entries.find((text) => text.trimStart().startsWith(`${flag} `)) ?? '';
    for (const flag of required) expect(entry(flag)).toContain('(required)');
    for (const flag of ['--ttl', '--hosted-zone-id'].filter((flag) => !required.includes(flag))) {
      expect(entry(flag)).not.toContain('(required)');
    }
    expect(help).toContain('Global Options:');
    for (const flag of ['--dry-run', '--json', '--region', '--profile', '--wait-timeout']) {
      expect(entry(flag)).not.toBe('');
    }
  });
});
