import type { KMSClient } from '@aws-sdk/client-kms';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DEFAULT_CLOCK_SKEW, type KeyType, type ProofAlgorithm, splitIdentityLabels } from '@nhi-dns/core';
import { Command, CommanderError, Help, InvalidArgumentError, Option } from 'commander';
import { type CheckResult, check, type TxtResolver } from './commands/check.js';
import { keygen } from './commands/keygen.js';
import { keygenKms, publishExistingKmsKey } from './commands/keygen-kms.js';
import { certThumbprintOfFile, checkTrustedFingerprint, publish } from './commands/publish.js';
import { checkRenderScope, parseRenderFormat, render, renderPublished } from './commands/render.js';
import { revoke } from './commands/revoke.js';
import { DEFAULT_SIGNER_KEY_MAX_AGE, finishRotation, rotate } from './commands/rotate.js';
import { finishKmsRotation, rotateKms } from './commands/rotate-kms.js';
import { keyFileSource, readBodyFile, readKeyFile, readProcessStdin, sign } from './commands/sign.js';
import { type CommandDeps, retryOptionsOf } from './deps.js';
import { CliError, describeError, EXIT_CODE, type ExitCode, exitCodeFor, usageError } from './errors.js';
import { type JwkSource, type PublishedKey, parseKeyType, SIGNING_KEY_SECRET } from './keys.js';
import { mintKmsWorkloadIdentity } from './kms-key.js';
import { type CliOutput, describeUpdate } from './output.js';
import { DEFAULT_WAIT_TIMEOUT, type IdentityTarget, type WriteOptions } from './record-update.js';
import { defaultSleep } from './retry.js';
import { readPublishedKey, readSigningKey } from './secret-store.js';
import {
  checkAttribute,
  checkHostedZoneId,
  checkHttpMethod,
  checkIdentityName,
  checkKid,
  checkLabel,
  checkLogicalId,
  checkProofLifetime,
  checkProofUrl,
  checkPublishedKey,
  checkRegion,
  checkServer,
  checkTtl,
  checkZone,
  MAX_SIGN_LIFETIME,
  parseProofAlgorithm,
} from './validation.js';
import { packageVersion } from './version.js';

/** AWS client settings from `--profile` and `--region`. */
export interface AwsClientConfig {
  readonly profile?: string;
  readonly region?: string;
}

/** Everything the program needs from outside, injected (tests pass mocks, `bin.ts` real ones). */
export interface CliDeps extends CliOutput {
  /** Creates the AWS clients; called only by commands that talk to AWS. */
  readonly createAwsClients: (config: AwsClientConfig) => {
    route53: Route53Client;
    secrets: SecretsManagerClient;
    /** For `--kms` and `--kms-key-id`. */
    kms?: KMSClient;
  };
  /** Creates the DNS resolver of `check` (`servers` as `addr:port`, default: the system's). */
  readonly createResolver: (options: { servers?: string[] }) => TxtResolver;
  /** Clock in milliseconds. Default `Date.now`. */
  readonly now?: () => number;
  /** Backoff sleep. Default `setTimeout`. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Reads all of stdin (`sign --body-file -`). Default: the process's stdin. */
  readonly readStdin?: () => Promise<Uint8Array>;
}

interface GlobalFlags {
  json?: boolean;
  dryRun?: boolean;
  profile?: string;
  region?: string;
  waitTimeout?: number;
}

interface TargetFlags {
  service: string;
  env: string;
  zone: string;
  hostedZoneId: string;
  ttl?: number;
}

const integer =
  (flag: string, min: number) =>
  (value: string): number => {
    if (!/^[0-9]+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
      throw new InvalidArgumentError(`${flag} must be a whole number >= ${min}`);
    }
    return Number(value);
  };

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * A commander argument parser from a check of `validation.ts`: the value is refused while the
 * command line is parsed (exit code 2, before any AWS call), with the check's own message.
 */
const checked =
  <T>(check: (value: string) => T) =>
  (value: string): T => {
    try {
      return check(value);
    } catch (error) {
      if (error instanceof CliError) throw new InvalidArgumentError(error.message);
      throw error;
    }
  };

/** Like {@link checked}, for a repeatable option. */
const collectChecked =
  (check: (value: string) => string) =>
  (value: string, previous: string[] = []): string[] => [...previous, checked(check)(value)];

const kidOption = checked(checkKid);

const keyValue = (value: string, previous: Record<string, string> = {}): Record<string, string> => {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('--attr takes NAME=VALUE');
  const [name, attribute] = [value.slice(0, eq), value.slice(eq + 1)];
  checked(() => checkAttribute(name, attribute))(value);
  return { ...previous, [name]: attribute };
};

/** `--ttl`: a whole number of seconds within what Route 53 accepts. */
const ttlOption = checked((value) => checkTtl(integer('--ttl', 0)(value)));

const alg = (value: string): KeyType => {
  try {
    return parseKeyType(value);
  } catch {
    throw new InvalidArgumentError('must be ed25519 or p256');
  }
};

/** Adds the options that name an identity and its hosted zone. */
const targetOptions = (command: Command, hostedZone: 'required' | 'optional' | 'none'): Command => {
  command
    .requiredOption(
      '--service <label>',
      'service label, e.g. billing',
      checked((value) => checkLabel('--service', value)),
    )
    .requiredOption(
      '--env <label>',
      'environment label, e.g. prod',
      checked((value) => checkLabel('--env', value)),
    )
    .requiredOption('--zone <zone>', 'identity zone, e.g. auth.example.com', checked(checkZone));
  const hostedZoneId = new Option('--hosted-zone-id <id>', 'Route 53 hosted zone id (Z… or /hostedzone/Z…)')
    .argParser(checked(checkHostedZoneId))
    .makeOptionMandatory(hostedZone === 'required');
  if (hostedZone !== 'none') command.addOption(hostedZoneId);
  return command;
};

const writeOptions = (command: Command): Command =>
  command.option('--ttl <seconds>', 'TTL of the RRset (default: existing TTL, else 300)', ttlOption);

/** How long a key was (or will be) held back after INSYNC for resolver caches to catch up. */
const waitPhrase = (seconds: number, done = false): string =>
  seconds === 0
    ? done
      ? '(no propagation wait)'
      : 'without a propagation wait'
    : done
      ? `after a ${seconds} s propagation wait`
      : `after a ${seconds} s propagation wait (resolver caches)`;

/**
 * Builds the `nhi-dns` commander program. Commands run against `deps`; the returned promise of
 * {@link runCli} resolves to the exit code instead of exiting, so tests run it in-process.
 */
export const createProgram = (deps: CliDeps, setExitCode: (code: ExitCode) => void): Command => {
  const program = new Command('nhi-dns')
    .description('Publish and manage nhi-dns identity records (Route 53) and signing keys (Secrets Manager)')
    .exitOverride()
    .configureOutput({ writeOut: deps.stdout, writeErr: deps.stderr })
    .showHelpAfterError('(run with --help for usage)')
    // Set before the subcommands are added: they inherit it, so each one's help lists the global
    // options too and marks its mandatory options (commander alone shows neither).
    .configureHelp({
      showGlobalOptions: true,
      optionDescription(option) {
        const text = Help.prototype.optionDescription.call(this, option);
        return option.mandatory ? `${text} (required)` : text;
      },
    })
    .option('-V, --version', 'print the version of nhi-dns')
    .option('--json', 'print results as one JSON document')
    .option('--dry-run', 'print the change batch; write nothing to Route 53 or Secrets Manager')
    .option('--profile <name>', 'AWS profile')
    .option(
      '--region <region>',
      'AWS region (Secrets Manager; Route 53 is global; default AWS_REGION)',
      checked(checkRegion),
    )
    .option(
      '--wait-timeout <seconds>',
      `seconds to wait for INSYNC, 0 = do not wait (default ${DEFAULT_WAIT_TIMEOUT})`,
      integer('--wait-timeout', 0),
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 done (or nothing to do), 1 check found a problem (a failed DNS lookup too),\n' +
        '2 usage error, 3 AWS error (also aws_credentials, aws_region) or not INSYNC in time,\n' +
        '4 a refusal that protects the record (kid_conflict, kid_revoked, would_empty, ...) or other failure,\n' +
        '5 sign --key-file refused a key file that group or others can access (insecure_key_file: chmod 600).',
    );

  // Like commander's own `.version()`, but the manifest is read only when asked for.
  program.on('option:version', () => {
    deps.stdout(`${packageVersion()}\n`);
    throw new CommanderError(0, 'commander.version', 'version printed');
  });

  const globals = (): GlobalFlags => program.opts<GlobalFlags>();
  const commandDeps = (): CommandDeps => {
    const { profile, region } = globals();
    const clients = deps.createAwsClients({
      ...(profile === undefined ? {} : { profile }),
      ...(region === undefined ? {} : { region }),
    });
    return {
      ...clients,
      now: deps.now ?? Date.now,
      sleep: deps.sleep ?? defaultSleep,
      log: (line) => deps.stderr(`${line}\n`),
    };
  };
  const target = (flags: TargetFlags): IdentityTarget => ({
    service: flags.service,
    environment: flags.env,
    zone: flags.zone,
    hostedZoneId: flags.hostedZoneId,
  });
  const write = (flags: TargetFlags): WriteOptions => {
    const { dryRun, waitTimeout } = globals();
    return {
      dryRun: dryRun === true,
      ...(flags.ttl === undefined ? {} : { ttl: flags.ttl }),
      ...(waitTimeout === undefined ? {} : { waitTimeoutSeconds: waitTimeout }),
    };
  };
  const print = (result: unknown, text: () => string[]): void => {
    deps.stdout(globals().json === true ? `${JSON.stringify(result, null, 2)}\n` : `${text().join('\n')}\n`);
  };
  const explicitKey = (flags: {
    publicKey?: string;
    kid?: string;
    alg?: KeyType;
  }): PublishedKey | undefined => {
    if (flags.publicKey === undefined) return undefined;
    if (flags.kid === undefined) throw usageError('--public-key needs --kid');
    return checkPublishedKey({ kid: flags.kid, keyType: flags.alg ?? 'ed25519', publicKey: flags.publicKey });
  };

  writeOptions(
    targetOptions(
      program
        .command('keygen')
        .description('generate a key pair, publish its public key, store its private key'),
      'required',
    ),
  )
    .addOption(new Option('--alg <type>', 'key type: ed25519 or p256').default('ed25519').argParser(alg))
    .addOption(
      new Option('--kid <id>', 'key id (default: k + UTC time, e.g. k20261125T151300Z)')
        .argParser(kidOption)
        .conflicts('kms'),
    )
    .option('--attr <name=value>', 'x- attribute of the key (repeatable)', keyValue)
    .option(
      '--propagation-wait <seconds>',
      "seconds to wait after INSYNC before storing the private key, 0 = do not wait (default: the previous TTL + 5; for a new name the zone's negative TTL, min(SOA TTL, SOA MINIMUM), + 5)",
      integer('--propagation-wait', 0),
    )
    .option(
      '--kms',
      'create the key in AWS KMS (non-exportable, alias alias/nhi/<env>/<service>, kid kms-<key id>) instead of Secrets Manager: recommended',
    )
    .option(
      '--signer-role <arn>',
      'with --kms: IAM role allowed kms:Sign, granted once the key is in DNS (repeatable; required)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--admin-role <arn>',
      'with --kms: IAM role that alone may change the key policy and alias (repeatable; recommended: otherwise any principal IAM grants kms:PutKeyPolicy could make itself a signer)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(
      async (
        flags: TargetFlags & {
          alg: KeyType;
          kid?: string;
          attr?: Record<string, string>;
          propagationWait?: number;
          kms?: boolean;
          signerRole?: string[];
          adminRole?: string[];
        },
      ) => {
        if (flags.kms === true) {
          const kmsResult = await keygenKms(
            {
              ...target(flags),
              ...write(flags),
              keyType: flags.alg,
              signerRoles: flags.signerRole ?? [],
              ...(flags.adminRole === undefined ? {} : { adminRoles: flags.adminRole }),
              ...(flags.attr === undefined ? {} : { attributes: flags.attr }),
              ...(flags.propagationWait === undefined
                ? {}
                : { propagationWaitSeconds: flags.propagationWait }),
            },
            commandDeps(),
          );
          print(kmsResult, () => [
            kmsResult.keyArn === undefined
              ? `would create a ${kmsResult.keyType} KMS key as ${kmsResult.alias}, publish it, then grant kms:Sign`
              : `created ${kmsResult.keyType} KMS key ${kmsResult.kid} (${kmsResult.alias}), published it, granted kms:Sign ${waitPhrase(kmsResult.propagationWaitSeconds, true)}`,
            ...(kmsResult.warning === undefined ? [] : [kmsResult.warning]),
            ...(kmsResult.record === undefined ? [] : describeUpdate(kmsResult.record)),
          ]);
          return;
        }
        if (flags.signerRole !== undefined || flags.adminRole !== undefined) {
          throw usageError('--signer-role and --admin-role apply only to --kms');
        }
        const result = await keygen(
          {
            ...target(flags),
            ...write(flags),
            keyType: flags.alg,
            ...(flags.kid === undefined ? {} : { kid: flags.kid }),
            ...(flags.attr === undefined ? {} : { attributes: flags.attr }),
            ...(flags.propagationWait === undefined ? {} : { propagationWaitSeconds: flags.propagationWait }),
          },
          commandDeps(),
        );
        print(result, () => [
          `generated ${result.keyType} key ${result.kid}`,
          result.secret === undefined
            ? `would store the private key in ${result.secretName} ${waitPhrase(result.propagationWaitSeconds)}`
            : `private key stored in ${result.secretName} (${result.secret.created ? 'created' : 'new version'}) ` +
              waitPhrase(result.propagationWaitSeconds, true),
          ...(result.warning === undefined ? [] : [result.warning]),
          ...describeUpdate(result.record),
        ]);
      },
    );

  writeOptions(
    targetOptions(
      program.command('publish').description('merge a public key into the identity RRset (idempotent)'),
      'required',
    ),
  )
    .option('--public-key <base64>', 'public key to publish (default: from the signing-key secret)')
    .option('--kid <id>', 'key id of --public-key', kidOption)
    .addOption(new Option('--alg <type>', 'key type of --public-key').default('ed25519').argParser(alg))
    .option('--attr <name=value>', 'x- attribute of the key (repeatable)', keyValue)
    .option('--exp <unix-seconds>', 'not-after of the key', integer('--exp', 1))
    .option(
      '--cert <file>',
      'pin the client certificate (PEM or DER) that API Gateway mutual TLS must present with this key (x5t-s256)',
    )
    .option(
      '--trust-stored-key <fingerprint>',
      'publish a stored key nhi-dns did not mark (stored by an older nhi-dns) if its fingerprint is this one, and mark it',
      checked(checkTrustedFingerprint),
    )
    .option(
      '--kms-key-id <id>',
      'publish this AWS KMS key (id, ARN or alias) with kc=kms, its kid kms-<key id>',
    )
    .option(
      '--propagation-wait <seconds>',
      "seconds to wait after INSYNC before returning, 0 = do not wait (default: for a new name the zone's negative TTL, min(SOA TTL, SOA MINIMUM), + 5; else 0)",
      integer('--propagation-wait', 0),
    )
    .action(
      async (
        flags: TargetFlags & {
          publicKey?: string;
          kid?: string;
          alg: KeyType;
          attr?: Record<string, string>;
          exp?: number;
          cert?: string;
          propagationWait?: number;
          trustStoredKey?: string;
          kmsKeyId?: string;
        },
      ) => {
        if (flags.kmsKeyId !== undefined) {
          if (flags.publicKey !== undefined || flags.kid !== undefined || flags.cert !== undefined) {
            throw usageError('--kms-key-id publishes the KMS key as it is: no --public-key, --kid or --cert');
          }
          const published = await publishExistingKmsKey(
            {
              ...target(flags),
              ...write(flags),
              kmsKeyId: flags.kmsKeyId,
              ...(flags.attr === undefined ? {} : { attributes: flags.attr }),
              ...(flags.exp === undefined ? {} : { expiresAt: flags.exp }),
            },
            commandDeps(),
          );
          print(published, () => [
            `published KMS key ${published.key.kid}${published.key.keyCustody === 'kms' ? ' (kc=kms)' : ' (imported key material: no kc=kms)'}`,
            ...(published.record === undefined ? [] : describeUpdate(published.record)),
          ]);
          return;
        }
        const key = explicitKey(flags);
        const certThumbprint = flags.cert === undefined ? undefined : await certThumbprintOfFile(flags.cert);
        const result = await publish(
          {
            ...target(flags),
            ...write(flags),
            ...(key === undefined ? {} : { key }),
            ...(flags.attr === undefined ? {} : { attributes: flags.attr }),
            ...(flags.exp === undefined ? {} : { expiresAt: flags.exp }),
            ...(certThumbprint === undefined ? {} : { certThumbprint }),
            ...(flags.trustStoredKey === undefined ? {} : { trustStoredKey: flags.trustStoredKey }),
            ...(flags.propagationWait === undefined ? {} : { propagationWaitSeconds: flags.propagationWait }),
          },
          commandDeps(),
        );
        print(result, () => [
          result.propagationWaitSeconds === 0
            ? `published ${result.kid}`
            : `published ${result.kid} ${waitPhrase(result.propagationWaitSeconds, result.status !== 'dry-run')}`,
          ...(result.warning === undefined ? [] : [result.warning]),
          ...describeUpdate(result),
        ]);
      },
    );

  writeOptions(
    targetOptions(
      program.command('rotate').description('add a new key and retire the old ones after an overlap'),
      'required',
    ),
  )
    .option(
      '--overlap <seconds>',
      'how long old keys stay valid (>= max(TTL, signer key max age + clock skew) + max proof lifetime; required unless --finish)',
      integer('--overlap', 1),
    )
    .option(
      '--max-proof-lifetime <seconds>',
      'longest proof lifetime verifiers accept',
      integer('--max-proof-lifetime', 1),
      300,
    )
    .option(
      '--signer-key-max-age <seconds>',
      "longest keyMaxAge of the identity's signers (how long a warm signer keeps its key)",
      integer('--signer-key-max-age', 0),
      DEFAULT_SIGNER_KEY_MAX_AGE,
    )
    .option(
      '--clock-skew <seconds>',
      "largest clockSkew of the identity's verifiers",
      integer('--clock-skew', 0),
      DEFAULT_CLOCK_SKEW,
    )
    .addOption(new Option('--alg <type>', 'type of the new key').default('ed25519').argParser(alg))
    .option('--kid <id>', 'id of the new key (default: k + UTC time)', kidOption)
    .option('--force', 'start although a rotation is in progress')
    .option('--finish', 'remove the keys whose overlap has passed')
    .option(
      '--kms',
      'rotate the KMS key behind alias/nhi/<env>/<service>: a new key, published, granted, the alias moved; with --finish, retired keys are removed and their deletion scheduled',
    )
    .option(
      '--signer-role <arn>',
      'with --kms: IAM role allowed kms:Sign on the new key (repeatable; required)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--admin-role <arn>',
      'with --kms: IAM role that alone may change the key policy and alias (repeatable; recommended: otherwise any principal IAM grants kms:PutKeyPolicy could make itself a signer)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--max-wit-lifetime <seconds>',
      "with --kms: longest witLifetime of the identity's signers (default 86400, the ceiling); the old key stays this long + clock skew",
      integer('--max-wit-lifetime', 1),
    )
    .option(
      '--deletion-window-days <days>',
      'with --kms --finish: days KMS waits before deleting a retired key (7..30, default 30)',
      integer('--deletion-window-days', 7),
    )
    .option(
      '--propagation-wait <seconds>',
      'seconds to wait after INSYNC before signers switch to the new key, 0 = do not wait (default: the previous TTL + 5)',
      integer('--propagation-wait', 0),
    )
    .action(
      async (
        flags: TargetFlags & {
          overlap?: number;
          maxProofLifetime: number;
          signerKeyMaxAge: number;
          clockSkew: number;
          alg: KeyType;
          kid?: string;
          force?: boolean;
          finish?: boolean;
          propagationWait?: number;
          kms?: boolean;
          signerRole?: string[];
          adminRole?: string[];
          maxWitLifetime?: number;
          deletionWindowDays?: number;
        },
      ) => {
        if (flags.kms === true && flags.finish === true) {
          const finished = await finishKmsRotation(
            {
              ...target(flags),
              ...write(flags),
              ...(flags.deletionWindowDays === undefined
                ? {}
                : { deletionWindowDays: flags.deletionWindowDays }),
            },
            commandDeps(),
          );
          print(finished, () => [
            finished.removed.length === 0
              ? 'no expired key to remove'
              : `removed ${finished.removed.join(', ')}`,
            ...finished.scheduledDeletion.map((keyId) => `scheduled the deletion of KMS key ${keyId}`),
            ...finished.pending.map(
              (key) => `pending: ${key.kid} expires ${new Date(key.expiresAt * 1000).toISOString()}`,
            ),
            ...describeUpdate(finished.record),
          ]);
          return;
        }
        if (flags.kms === true) {
          const rotated = await rotateKms(
            {
              ...target(flags),
              ...write(flags),
              signerRoles: flags.signerRole ?? [],
              ...(flags.adminRole === undefined ? {} : { adminRoles: flags.adminRole }),
              clockSkewSeconds: flags.clockSkew,
              ...(flags.maxWitLifetime === undefined ? {} : { maxWitLifetimeSeconds: flags.maxWitLifetime }),
              ...(flags.propagationWait === undefined
                ? {}
                : { propagationWaitSeconds: flags.propagationWait }),
            },
            commandDeps(),
          );
          print(rotated, () => [
            `${rotated.alias} now names ${rotated.kid}; ${rotated.retiring} retires at ${new Date(rotated.finishAfter * 1000).toISOString()}`,
            `then run: nhi-dns rotate --kms --finish (removes it and schedules its deletion)`,
            ...rotated.steps.flatMap(describeUpdate),
          ]);
          return;
        }
        if (
          flags.signerRole !== undefined ||
          flags.adminRole !== undefined ||
          flags.maxWitLifetime !== undefined
        ) {
          throw usageError('--signer-role, --admin-role and --max-wit-lifetime apply only to --kms');
        }
        if (flags.finish === true) {
          const result = await finishRotation({ ...target(flags), ...write(flags) }, commandDeps());
          print(result, () => [
            result.removed.length === 0 ? 'no expired key to remove' : `removed ${result.removed.join(', ')}`,
            ...result.pending.map(
              (key) => `pending: ${key.kid} expires ${new Date(key.expiresAt * 1000).toISOString()}`,
            ),
            ...describeUpdate(result.record),
          ]);
          return;
        }
        if (flags.overlap === undefined) throw usageError('rotate needs --overlap <seconds> (or --finish)');
        const result = await rotate(
          {
            ...target(flags),
            ...write(flags),
            overlapSeconds: flags.overlap,
            maxProofLifetimeSeconds: flags.maxProofLifetime,
            signerKeyMaxAgeSeconds: flags.signerKeyMaxAge,
            clockSkewSeconds: flags.clockSkew,
            keyType: flags.alg,
            ...(flags.kid === undefined ? {} : { kid: flags.kid }),
            force: flags.force === true,
            ...(flags.propagationWait === undefined ? {} : { propagationWaitSeconds: flags.propagationWait }),
          },
          commandDeps(),
        );
        const after = new Date(result.finishAfter * 1000).toISOString();
        print(result, () => [
          ...(result.resumed
            ? [`resumed the interrupted rotation to ${result.kid} (fingerprint ${result.fingerprint})`]
            : []),
          ...(result.ignoredPending === undefined
            ? []
            : [
                `WARNING: ignored an AWSPENDING version rotate did not stage (${result.ignoredPending.versionId}` +
                  `${result.ignoredPending.kid === undefined ? '' : `, key ${result.ignoredPending.kid}, fingerprint ${result.ignoredPending.fingerprint}`})`,
              ]),
          result.secret === undefined && globals().dryRun === true
            ? `would publish new key ${result.kid}, then store it in ${result.secretName} ${waitPhrase(result.propagationWaitSeconds)}`
            : `new key ${result.kid} published and stored in ${result.secretName} ${waitPhrase(result.propagationWaitSeconds, true)}`,
          `retiring ${result.retiring.join(', ') || 'nothing'}: they expire at ${after}`,
          `after ${after} run: nhi-dns rotate --finish --service ${flags.service} --env ${flags.env} ` +
            `--zone ${flags.zone} --hosted-zone-id ${flags.hostedZoneId}`,
          ...result.steps.flatMap(describeUpdate),
        ]);
      },
    );

  writeOptions(
    targetOptions(program.command('revoke').description('revoke a key (p= empty, kept visible)'), 'required'),
  )
    .requiredOption('--kid <id>', 'key id to revoke', kidOption)
    .action(async (flags: TargetFlags & { kid: string }) => {
      const result = await revoke({ ...target(flags), ...write(flags), kid: flags.kid }, commandDeps());
      print(result, () => [
        `revoked ${result.kid}; usable keys left: ${result.usableKeys}`,
        ...describeUpdate(result),
      ]);
    });

  targetOptions(
    program.command('check').description('resolve the identity through DNS and compare with Route 53'),
    'optional',
  )
    .option(
      '--server <addr:port>',
      'DNS server to ask, IPv4 or IPv6 with optional port (repeatable; default: the system resolvers)',
      collectChecked(checkServer),
    )
    .option(
      '--require-dnssec',
      'fail unless the answer is DNSSEC-authenticated (DNSSEC is always asked for; AD is always reported)',
    )
    .option('--kid <id>', 'key id that must be published and usable', kidOption)
    .action(
      async (
        flags: Omit<TargetFlags, 'hostedZoneId'> & {
          hostedZoneId?: string;
          server?: string[];
          requireDnssec?: boolean;
          kid?: string;
        },
      ) => {
        const resolver = deps.createResolver(flags.server === undefined ? {} : { servers: flags.server });
        const aws = flags.hostedZoneId === undefined ? undefined : commandDeps();
        const result: CheckResult = await check(
          {
            service: flags.service,
            environment: flags.env,
            zone: flags.zone,
            ...(flags.hostedZoneId === undefined ? {} : { hostedZoneId: flags.hostedZoneId }),
            requireDnssec: flags.requireDnssec === true,
            ...(flags.kid === undefined ? {} : { kid: flags.kid }),
          },
          {
            resolver,
            now: deps.now ?? Date.now,
            ...(aws === undefined ? {} : { route53: aws.route53, retry: retryOptionsOf(aws) }),
          },
        );
        print(result, () => [
          `${result.name}: ${result.ok ? 'OK' : 'FAILED'}`,
          ...result.problems.map((problem) => `  ${problem.code}: ${problem.detail}`),
          ...(result.dns === undefined
            ? []
            : [
                `DNS (${result.dns.outcome}, TTL ${result.dns.ttl}, AD ${result.dns.ad}): ` +
                  (result.dns.keys.map((key) => key.kid).join(', ') || 'no keys'),
              ]),
        ]);
        if (!result.ok) setExitCode(EXIT_CODE.checkFailed);
      },
    );

  targetOptions(
    program
      .command('render')
      .description('print the RRset as SAM/CloudFormation RecordSet or zone-file lines'),
    'optional',
  )
    .requiredOption('--format <format>', 'sam, cloudformation or zonefile')
    .option(
      '--public-key <base64>',
      'public key (repeat with --kid for several; default: the signing-key secret)',
      collect,
    )
    .option('--kid <id>', 'key id of each --public-key, in order', collectChecked(checkKid))
    .addOption(
      new Option('--alg <type>', 'key type of the --public-key values').default('ed25519').argParser(alg),
    )
    .option('--attr <name=value>', 'x- attribute (repeatable)', keyValue)
    .option('--ttl <seconds>', 'TTL (default 300)', ttlOption)
    .option('--logical-id <id>', 'logical id of the resource (alphanumerics)', checked(checkLogicalId))
    .option(
      '--trust-stored-key <fingerprint>',
      'render a stored key nhi-dns did not mark if its fingerprint is this one (marks nothing)',
      checked(checkTrustedFingerprint),
    )
    .option(
      '--replace',
      'render only the given keys, to replace whatever is published (needed without --hosted-zone-id)',
    )
    .action(
      async (
        flags: Omit<TargetFlags, 'hostedZoneId'> & {
          hostedZoneId?: string;
          format: string;
          publicKey?: string[];
          kid?: string[];
          alg: KeyType;
          attr?: Record<string, string>;
          logicalId?: string;
          trustStoredKey?: string;
          replace?: boolean;
        },
      ) => {
        const format = parseRenderFormat(flags.format);
        checkRenderScope(flags);
        // AWS clients only when something is read: --replace with --public-key stays offline.
        let aws: CommandDeps | undefined;
        const awsDeps = (): CommandDeps => {
          aws ??= commandDeps();
          return aws;
        };
        let keys: PublishedKey[];
        if (flags.publicKey === undefined) {
          const secretDeps = awsDeps();
          keys = [
            await readPublishedKey({
              secrets: secretDeps.secrets,
              service: flags.service,
              environment: flags.env,
              retry: retryOptionsOf(secretDeps),
              ...(flags.trustStoredKey === undefined ? {} : { trustFingerprint: flags.trustStoredKey }),
              ...(secretDeps.log === undefined ? {} : { log: secretDeps.log }),
            }),
          ];
        } else {
          const kids = flags.kid ?? [];
          if (kids.length !== flags.publicKey.length) throw usageError('give one --kid per --public-key');
          keys = flags.publicKey.map((publicKey, index) =>
            checkPublishedKey({ publicKey, kid: kids[index] as string, keyType: flags.alg }),
          );
        }
        const options = {
          service: flags.service,
          environment: flags.env,
          zone: flags.zone,
          format,
          keys,
          ...(flags.attr === undefined ? {} : { attributes: flags.attr }),
          ...(flags.ttl === undefined ? {} : { ttl: flags.ttl }),
          ...(flags.logicalId === undefined ? {} : { logicalId: flags.logicalId }),
        };
        const text =
          flags.hostedZoneId === undefined || flags.replace === true
            ? render({
                ...options,
                ...(flags.hostedZoneId === undefined ? {} : { hostedZoneId: flags.hostedZoneId }),
              })
            : await renderPublished({ ...options, hostedZoneId: flags.hostedZoneId }, awsDeps());
        if (globals().json === true) deps.stdout(`${JSON.stringify({ format, text })}\n`);
        else deps.stdout(text);
      },
    );

  program
    .command('sign')
    .description('print a proof (compact JWS) for a caller outside Lambda: curl, CI jobs, containers')
    .requiredOption(
      '--iss <identity>',
      'caller identity name, e.g. billing.prod.auth.example.com',
      checked((value) => checkIdentityName('--iss', value)),
    )
    .requiredOption(
      '--aud <identity>',
      'callee identity name (repeatable: aud becomes an array)',
      collectChecked((value) => checkIdentityName('--aud', value)),
    )
    .option('--method <method>', 'HTTP method to bind (htm), e.g. POST', checked(checkHttpMethod))
    .option(
      '--url <url>',
      'request URL to bind (htu): verifiers check scheme, host and path',
      checked(checkProofUrl),
    )
    .option(
      '--body-file <path>',
      'bind these bytes as the request body (bh), - for stdin; send them unchanged (curl --data-binary @path)',
    )
    .option(
      '--lifetime <seconds>',
      `seconds until exp, 1..${MAX_SIGN_LIFETIME} (default 60)`,
      checked((value) => checkProofLifetime(/^[0-9]+$/.test(value) ? Number(value) : Number.NaN)),
    )
    .option(
      '--alg <name>',
      "header alg: EdDSA or Ed25519 for an Ed25519 key, ES256 for a P-256 key (default: the key's alg)",
      checked(parseProofAlgorithm),
    )
    .option('--header', 'print the whole header line: Authorization: NHI <jws>')
    .addOption(
      new Option(
        '--key-file <path>',
        'private JWK file as nhi-dns keygen stores the key (mode 0600 or stricter)',
      ).conflicts('fromSecret'),
    )
    .addOption(
      new Option(
        '--from-secret',
        'use the signing-key secret /<env>/nhi/<service>/signing-key, service and env being the first labels of --iss',
      ).conflicts('keyFile'),
    )
    .option('--kid <id>', "key id of the header (default: the key's kid)", kidOption)
    .addOption(
      new Option(
        '--kms-key-id <id>',
        'sign a WIT with this AWS KMS key (id, ARN or alias) and a WPT with a key that lives in this process: prints both tokens',
      ).conflicts(['keyFile', 'fromSecret', 'kid', 'alg']),
    )
    .option(
      '--trust-stored-key <fingerprint>',
      'with --from-secret: sign with a stored key nhi-dns did not mark if its fingerprint is this one (marks nothing)',
      checked(checkTrustedFingerprint),
    )
    .action(
      async (flags: {
        iss: string;
        aud: string[];
        method?: string;
        url?: string;
        bodyFile?: string;
        lifetime?: number;
        alg?: ProofAlgorithm;
        header?: boolean;
        keyFile?: string;
        fromSecret?: boolean;
        kid?: string;
        trustStoredKey?: string;
        kmsKeyId?: string;
      }) => {
        const readBody = () =>
          flags.bodyFile === undefined
            ? undefined
            : readBodyFile(flags.bodyFile, deps.readStdin ?? readProcessStdin);
        if (flags.kmsKeyId !== undefined) {
          const aws = commandDeps();
          if (aws.kms === undefined) throw usageError('--kms-key-id needs a KMS client');
          const signer = await mintKmsWorkloadIdentity({
            kms: aws.kms,
            kmsKeyId: flags.kmsKeyId,
            name: flags.iss,
            now: Math.floor((deps.now ?? Date.now)() / 1000),
          });
          const kmsBody = await readBody();
          const wpt = signer.sign({
            aud: flags.aud.length === 1 ? (flags.aud[0] as string) : flags.aud,
            now: Math.floor((deps.now ?? Date.now)() / 1000),
            ...(flags.method === undefined ? {} : { method: flags.method }),
            ...(flags.url === undefined ? {} : { url: flags.url }),
            ...(kmsBody === undefined ? {} : { body: kmsBody }),
            ...(flags.lifetime === undefined ? {} : { lifetime: flags.lifetime }),
          });
          if (globals().json === true)
            print({ wit: signer.wit, wpt, witExpiresAt: signer.expiresAt }, () => []);
          else
            deps.stdout(
              flags.header === true
                ? `Workload-Identity-Token: ${signer.wit}\nWorkload-Proof-Token: ${wpt}\n`
                : `${signer.wit}\n${wpt}\n`,
            );
          return;
        }
        if (flags.keyFile === undefined && flags.fromSecret !== true) {
          throw usageError('sign needs the private key: --key-file <path>, --from-secret or --kms-key-id');
        }
        if (flags.trustStoredKey !== undefined && flags.fromSecret !== true) {
          throw usageError('--trust-stored-key applies only to --from-secret');
        }
        let privateJwk: unknown;
        let keySource: JwkSource;
        if (flags.keyFile !== undefined) {
          privateJwk = await readKeyFile(flags.keyFile);
          keySource = keyFileSource(flags.keyFile);
        } else {
          // --iss passed checkIdentityName: its first two labels are valid service and env labels.
          const { service, environment } = splitIdentityLabels(flags.iss) ?? { service: '', environment: '' };
          const aws = commandDeps();
          const stored = await readSigningKey({
            secrets: aws.secrets,
            service,
            environment,
            retry: retryOptionsOf(aws),
            ...(flags.trustStoredKey === undefined ? {} : { trustFingerprint: flags.trustStoredKey }),
            ...(aws.log === undefined ? {} : { log: aws.log }),
          });
          privateJwk = stored.privateJwk;
          keySource = { ...SIGNING_KEY_SECRET, name: `the signing-key secret ${stored.secretName}` };
        }
        const body = await readBody();
        const result = sign(
          {
            iss: flags.iss,
            aud: flags.aud,
            privateJwk,
            keySource,
            ...(flags.kid === undefined ? {} : { kid: flags.kid }),
            ...(flags.alg === undefined ? {} : { algorithm: flags.alg }),
            ...(flags.method === undefined ? {} : { method: flags.method }),
            ...(flags.url === undefined ? {} : { url: flags.url }),
            ...(body === undefined ? {} : { body }),
            ...(flags.lifetime === undefined ? {} : { lifetime: flags.lifetime }),
          },
          { now: deps.now ?? Date.now },
        );
        if (globals().json === true) print(result, () => []);
        else
          deps.stdout(flags.header === true ? `Authorization: NHI ${result.token}\n` : `${result.token}\n`);
      },
    );

  return program;
};

/**
 * Runs `nhi-dns` with `argv` (the arguments after the program name) and resolves to the exit
 * code: 0 ok, 1 check failed, 2 usage error, 3 AWS error (including missing credentials or
 * region), 4 other, 5 `sign --key-file` of a key file others can access. Never throws and never
 * calls `process.exit`.
 */
export const runCli = async (argv: readonly string[], deps: CliDeps): Promise<ExitCode> => {
  let exitCode: ExitCode = EXIT_CODE.ok;
  const program = createProgram(deps, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (or the help) through `configureOutput`.
      if (error.exitCode === 0) return EXIT_CODE.ok;
      // `--json` may come after the bad value, so that commander never got to set it.
      if (program.opts<GlobalFlags>().json === true || argv.includes('--json')) {
        const message = error.message.replace(/^error: /, '');
        deps.stdout(`${JSON.stringify({ error: { reason: 'usage', message } })}\n`);
      }
      return EXIT_CODE.usage;
    }
    const { reason, message } = describeError(error);
    if (program.opts<GlobalFlags>().json === true) {
      deps.stdout(`${JSON.stringify({ error: { reason, message } })}\n`);
    }
    deps.stderr(`nhi-dns: ${message}\n`);
    return exitCodeFor(error);
  }
};
