import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import type { CliDeps } from './cli.js';
import { runCli } from './cli.js';
import type { TxtResolver } from './commands/check.js';
import { fakeAws, NAME, NOW_MS, ZONE_ID } from './fake-aws.test-helper.js';
import { generateSigningKey } from './keys.js';

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
  const deps: CliDeps = {
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
    createAwsClients: (config) => {
      clientConfigs.push(config);
      return { route53: aws.route53, secrets: aws.secrets };
    },
    createResolver: () => resolver ?? { resolveTxt: async () => Promise.reject(new Error('no resolver')) },
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
  };
};

describe('nhi-dns (in process)', () => {
  it('prints help with exit code 0', async () => {
    const cli = harness();
    await expect(cli.run('--help')).resolves.toBe(0);
    for (const command of ['keygen', 'publish', 'rotate', 'revoke', 'check', 'render']) {
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

  it('render prints zone-file text offline', async () => {
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
      ),
    ).resolves.toBe(0);
    expect(cli.stdout()).toBe(
      `${NAME}.\t300\tIN\tTXT\t"v=NHI1; svc=billing; env=prod; kid=k1; k=ed25519; p=${key.publicKey}"\n`,
    );
    expect(cli.clientConfigs).toHaveLength(0);
  });
});
