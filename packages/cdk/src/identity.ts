import { canonicalName, formatIdentityName, formatRecord, type KeyType } from '@nhi-dns/core';
import { ArnFormat, CfnResource, type Duration, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import { KMS_IDENTITY_TAG, KMS_SIGN_ACTIONS, NhiKmsSigningKey } from './kms-signing-key.js';
import { checkSecretName, invalidConfig, literal } from './names.js';
import { NhiRotation, type NhiRotationOptions } from './rotation.js';
import { guardSigningKeys, isConstructRole } from './signing-key-guard.js';
import { route53TxtValue } from './txt-value.js';

/** TTL of a stack-owned identity record when none is given: the CLI's default (300 s). */
export const DEFAULT_RECORD_TTL_SECONDS = 300;

/** Actions a workload needs to read one of its secrets (value, and rotation dates for caching). */
export const SECRET_READ_ACTIONS: readonly string[] = Object.freeze([
  'secretsmanager:GetSecretValue',
  'secretsmanager:DescribeSecret',
]);

/** One public key of an identity record: one TXT RR (`kid=`, `k=`, `p=`, optional `exp=`). */
export interface NhiPublicKey {
  /** Key id, 1..64 characters of `[A-Za-z0-9._-]`, unique within the record. */
  readonly kid: string;
  /**
   * Key type (`k=`).
   * @default 'ed25519'
   */
  readonly keyType?: KeyType;
  /**
   * Public key, base64: the raw 32 bytes for `ed25519`, the SPKI DER for `p256` (the `p=` that
   * `nhi-dns keygen --dry-run` or `nhi-dns render` prints). An empty string publishes the kid as
   * revoked.
   */
  readonly publicKey: string;
  /**
   * Not-after of the key, Unix seconds (`exp=`).
   * @default - no expiry
   */
  readonly expiresAt?: number;
  /**
   * Client certificate this key's proofs must come with over API Gateway mutual TLS (`x5t-s256=`):
   * the RFC 8705 thumbprint, base64url SHA-256 of the certificate's DER (`nhi-dns publish --cert`
   * computes it; so does `openssl x509 -outform der | openssl dgst -sha256 -binary | basenc --base64url`).
   * @default - no pin
   */
  readonly certThumbprint?: string;
}

/** Environment variable identity-sign reads for the KMS key to sign with (its `kmsKeyId`). */
export const KMS_KEY_ENVIRONMENT_VARIABLE = 'NHI_KMS_KEY_ID';

/** Where an identity's private signing key lives. */
export type NhiSigningKeyCustody = 'secret' | 'kms';

/** Properties every {@link NhiIdentity} takes. */
export interface NhiIdentityBaseProps {
  /** Zone of the identity records, e.g. `auth.example.com` (no trailing dot needed). */
  readonly zone: string;
  /** Service label, the first label of the name (`[a-z0-9-]{1,63}`), e.g. `billing`. */
  readonly service: string;
  /** Environment label, the second label of the name (`[a-z0-9-]{1,63}`), e.g. `prod`. */
  readonly environment: string;
  /**
   * Where the private signing key lives. `'kms'` (recommended for new identities): this stack
   * creates an AWS KMS key (`SIGN_VERIFY`, non-exportable, alias `alias/nhi/<environment>/<service>`,
   * the key policy of `nhi-dns keygen --kms`), and {@link NhiIdentity.grantSign} grants `kms:Sign`
   * on it; the record (`kid=kms-<key id>; kc=kms`) is published after deployment with
   * `nhi-dns publish --kms-key-id alias/nhi/<environment>/<service>`, so it needs
   * `recordOwner: 'cli'` (the public key is not known at synthesis). `'secret'`: the key
   * `nhi-dns keygen` stores in Secrets Manager at `/<environment>/nhi/<service>/signing-key`.
   * @default 'secret'
   */
  readonly signingKey?: NhiSigningKeyCustody;
  /**
   * Type of the KMS key (`signingKey: 'kms'` only): `ed25519` (`ECC_NIST_EDWARDS25519`) or `p256`
   * (`ECC_NIST_P256`).
   * @default 'ed25519'
   */
  readonly kmsKeyType?: KeyType;
  /**
   * Rotates the signing key automatically, every `rotation` (whole days, 1..1000), with the
   * handlers of `@nhi-dns/rotation` (see {@link NhiRotation}): a Secrets Manager rotation schedule
   * for a secret-held key, a daily EventBridge Scheduler run for a KMS-held key. The rotation
   * changes the record, so it needs `recordOwner: 'cli'` (the CLI's engine runs it) and
   * `hostedZone` or `hostedZoneId`.
   * @default - no automatic rotation (`nhi-dns rotate` by hand)
   */
  readonly rotation?: Duration;
  /**
   * Code, DNS servers, alarm actions and function settings of the rotation (with `rotation`).
   * @default - the defaults of {@link NhiRotationOptions}
   */
  readonly rotationOptions?: NhiRotationOptions;
}

/**
 * An identity whose TXT record this stack owns: CloudFormation creates it, and every update
 * puts back exactly the keys given here. Never change such a record with the CLI's `publish`,
 * `rotate` or `revoke`: the next deployment would undo it. Rotate and revoke by changing
 * `publicKey` and deploying.
 */
export interface NhiIdentityStackRecordProps extends NhiIdentityBaseProps {
  /**
   * Who owns the TXT record. `'stack'` here.
   * @default 'stack' (implied by `publicKey`)
   */
  readonly recordOwner?: 'stack';
  /**
   * The key or keys to publish, one TXT RR each (several during a rotation's overlap). Each RR
   * is the text of core's `formatRecord`, split into 255-byte character-strings.
   */
  readonly publicKey: NhiPublicKey | readonly NhiPublicKey[];
  /**
   * `x-NAME=value` attributes, written on every RR (so that all keys agree on them, as
   * verifiers require), e.g. `{ tier: 'pci' }`.
   * @default - none
   */
  readonly attributes?: Readonly<Record<string, string>>;
  /**
   * The hosted zone that holds the record (the identity zone itself or a parent of it). Give
   * this or `hostedZoneId`.
   * @default - `hostedZoneId`
   */
  readonly hostedZone?: route53.IHostedZone;
  /**
   * Id of the hosted zone that holds the record, when no `IHostedZone` is at hand.
   * @default - `hostedZone.hostedZoneId`
   */
  readonly hostedZoneId?: string;
  /**
   * TTL of the record. Verifiers and resolvers cache it that long, so it bounds how long a
   * revocation takes to be seen (plus the proofs' lifetime).
   * @default Duration.seconds(300)
   */
  readonly ttl?: Duration;
}

/**
 * An identity whose TXT record the `nhi-dns` CLI owns (`keygen`, `publish`, `rotate`, `revoke`):
 * the stack declares no record at all. One owner per record: a stack-declared record next to a
 * CLI-managed one would fail to create when `keygen` had made it, and every update would put
 * back the keys it was deployed with, undoing a rotation or a revocation (the kill switch).
 */
export interface NhiIdentityCliRecordProps extends NhiIdentityBaseProps {
  /** Who owns the TXT record: `'cli'`, so this stack creates none. */
  readonly recordOwner: 'cli';
  /** Not taken: the CLI publishes the keys. */
  readonly publicKey?: undefined;
  /**
   * With `rotation`: the hosted zone that holds the record, which the rotation function changes.
   * Give this or `hostedZoneId`.
   * @default - `hostedZoneId`
   */
  readonly hostedZone?: route53.IHostedZone;
  /**
   * With `rotation`: id of the hosted zone that holds the record.
   * @default - `hostedZone.hostedZoneId`
   */
  readonly hostedZoneId?: string;
}

/** Properties of {@link NhiIdentity}: either the stack or the CLI owns the record, never both. */
export type NhiIdentityProps = NhiIdentityStackRecordProps | NhiIdentityCliRecordProps;

/**
 * A workload identity `<service>.<environment>.<zone>` (DESIGN §1): its TXT record when this
 * stack owns it, and least-privilege grants on its signing key and on the secrets of its
 * environment namespace.
 *
 * Resources: one `AWS::Route53::RecordSet` (TXT, one value per key) when `publicKey` is given;
 * none when `recordOwner: 'cli'`. With `signingKey: 'kms'`, an `AWS::KMS::Key` (retained on
 * stack deletion) and its `AWS::KMS::Alias`. Grants add statements to the grantee's policy.
 *
 * @example
 * const billing = new NhiIdentity(this, 'Billing', {
 *   zone: 'auth.example.com', service: 'billing', environment: 'prod', recordOwner: 'cli',
 *   signingKey: 'kms',
 * });
 * billing.grantSign(billingFunction);
 */
export class NhiIdentity extends Construct {
  /** The identity name, e.g. `billing.prod.auth.example.com` (canonical: lower case, no trailing dot). */
  readonly name: string;
  /** Zone of the identity, canonical. */
  readonly zone: string;
  /** Service label. */
  readonly service: string;
  /** Environment label. */
  readonly environment: string;
  /** Who owns the TXT record: `'stack'` (this construct created it) or `'cli'`. */
  readonly recordOwner: 'stack' | 'cli';
  /** Name of the signing-key secret `nhi-dns keygen` writes: `/<environment>/nhi/<service>/signing-key`. */
  readonly signingKeySecretName: string;
  /** Where the private signing key lives: `'kms'` or `'secret'`. */
  readonly signingKeyCustody: NhiSigningKeyCustody;
  /** The KMS key, its alias and key type, with `signingKey: 'kms'`. */
  readonly kmsSigningKey?: NhiKmsSigningKey;
  /** The TXT record set, when this stack owns the record; `undefined` when the CLI owns it. */
  readonly record?: route53.CfnRecordSet;
  /** The RR texts (before splitting and quoting) the stack publishes; empty when the CLI owns the record. */
  readonly recordTexts: readonly string[];
  /** The automatic rotation of the signing key, with `rotation`. */
  readonly rotation?: NhiRotation;

  /**
   * @param scope - parent construct.
   * @param id - construct id.
   * @param props - the identity and who owns its record.
   * @throws {NhiError} `invalid_config` (bad label, zone, key or hosted zone; a token where a
   *   literal is needed; both or neither of `publicKey` and `recordOwner: 'cli'`), or core's
   *   `invalid_record` naming the field of a key that cannot be formatted.
   */
  constructor(scope: Construct, id: string, props: NhiIdentityProps) {
    super(scope, id);
    const service = literal('service', props.service);
    const environment = literal('environment', props.environment);
    const zone = literal('zone', props.zone);
    try {
      this.name = formatIdentityName({ service, environment, zone });
    } catch (error) {
      throw invalidConfig(
        'identity',
        { service, environment, zone },
        `${(error as Error).message} (labels are lower case; the zone is a DNS name)`,
      );
    }
    if (service !== canonicalName(service) || environment !== canonicalName(environment)) {
      throw invalidConfig('identity', { service, environment }, 'labels must be lower case');
    }
    this.service = service;
    this.environment = environment;
    this.zone = this.name.split('.').slice(2).join('.');
    this.signingKeySecretName = `/${environment}/nhi/${service}/signing-key`;
    this.signingKeyCustody = checkCustody(props);
    if (this.signingKeyCustody === 'kms') {
      if (props.recordOwner !== 'cli') {
        throw invalidConfig(
          'signingKey',
          'kms',
          "the public key of a KMS key is not known at synthesis, so this stack cannot publish it: use recordOwner: 'cli' " +
            `and, after deploying, nhi-dns publish --kms-key-id alias/nhi/${environment}/${service}`,
        );
      }
      this.kmsSigningKey = new NhiKmsSigningKey(this, 'SigningKey', {
        name: this.name,
        service,
        environment,
        keyType: props.kmsKeyType ?? 'ed25519',
      });
    }

    if (props.recordOwner === 'cli') {
      if (props.publicKey !== undefined) {
        throw invalidConfig(
          'publicKey',
          '<given>',
          "the record has one owner: with recordOwner: 'cli' the CLI publishes the keys, so give no publicKey",
        );
      }
      this.recordOwner = 'cli';
      this.recordTexts = [];
      if (props.rotation === undefined) {
        const extra = (['rotationOptions', 'hostedZone', 'hostedZoneId'] as const).find(
          (option) => props[option] !== undefined,
        );
        if (extra !== undefined) {
          throw invalidConfig(
            extra,
            '<given>',
            'only with rotation (the CLI owns the record and knows its zone)',
          );
        }
        return;
      }
      this.rotation = new NhiRotation(this, 'Rotation', {
        ...props.rotationOptions,
        name: this.name,
        zone: this.zone,
        service,
        environment,
        hostedZoneId: this.#hostedZoneId(props, 'the rotation changes the record, so it'),
        period: props.rotation,
        secretName: this.signingKeySecretName,
        ...(this.kmsSigningKey === undefined ? {} : { kmsSigningKey: this.kmsSigningKey }),
      });
      return;
    }
    if (props.rotation !== undefined || props.rotationOptions !== undefined) {
      throw invalidConfig(
        'rotation',
        '<given>',
        "the rotation changes the record, and a stack-owned record must only change by deploying: use recordOwner: 'cli' with hostedZone or hostedZoneId",
      );
    }
    if (props.recordOwner !== undefined && props.recordOwner !== 'stack') {
      throw invalidConfig('recordOwner', props.recordOwner, "use 'stack' (with publicKey) or 'cli'");
    }
    if (props.publicKey === undefined) {
      throw invalidConfig(
        'publicKey',
        undefined,
        "give the key(s) this stack publishes, or recordOwner: 'cli' when the nhi-dns CLI owns the record",
      );
    }
    this.recordOwner = 'stack';
    const keys: readonly NhiPublicKey[] = Array.isArray(props.publicKey)
      ? props.publicKey
      : [props.publicKey as NhiPublicKey];
    if (keys.length === 0) throw invalidConfig('publicKey', [], 'give at least one key');
    const kids = keys.map((key) => key.kid);
    if (new Set(kids).size !== kids.length) {
      // Verifiers reject every RR of a kid published twice (ambiguous): never deploy that.
      throw invalidConfig('publicKey', kids, 'each kid may appear once (verifiers reject a duplicated kid)');
    }
    this.recordTexts = keys.map((key) =>
      formatRecord({
        service,
        environment,
        kid: literal('publicKey.kid', key.kid),
        keyType: key.keyType ?? 'ed25519',
        publicKey: literal('publicKey.publicKey', key.publicKey),
        ...(key.expiresAt === undefined ? {} : { expiresAt: key.expiresAt }),
        ...(key.certThumbprint === undefined
          ? {}
          : { certThumbprint: literal('publicKey.certThumbprint', key.certThumbprint) }),
        ...(props.attributes === undefined ? {} : { attributes: props.attributes }),
      }),
    );
    this.record = new route53.CfnRecordSet(this, 'Record', {
      hostedZoneId: this.#hostedZoneId(props, 'a stack-owned record'),
      name: `${this.name}.`,
      type: 'TXT',
      ttl: String(this.#ttlSeconds(props.ttl)),
      resourceRecords: this.recordTexts.map(route53TxtValue),
    });
  }

  /**
   * ARN pattern of a secret of this identity's account and region: Secrets Manager appends `-`
   * and six random characters to the name, which `??????` matches and nothing longer.
   *
   * @param secretName - the full secret name, e.g. `/prod/ledger/db`.
   */
  secretArnPattern(secretName: string): string {
    return Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${secretName}-??????`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /**
   * Lets `grantee` sign as this identity.
   *
   * With `signingKey: 'kms'`: `kms:Sign`, `kms:GetPublicKey` and `kms:DescribeKey` on exactly this
   * identity's KMS key (its ARN; with `rotation`, on the keys tagged `nhi:identity` = the name, since
   * the rotation makes the next key later), the grantee's role added to the signers of the key policy (the
   * only principals not denied `kms:Sign`), and, on a Lambda function, `NHI_KMS_KEY_ID` set to the
   * alias, where identity-sign finds its key (the function then depends on the alias). The grantee must be a role or have one (a function).
   * No Secrets Manager grant: there is no secret to read.
   *
   * With a secret-held key: `secretsmanager:GetSecretValue` and `DescribeSecret` on exactly
   * `arn:<partition>:secretsmanager:<region>:<account>:secret:/<env>/nhi/<service>/signing-key-??????`
   * (identity-sign reads the key through secrets-inject's cache, which asks `DescribeSecret` for
   * rotation dates). Nothing wider: no `*`, no other key, no `BatchGetSecretValue` (which takes
   * only `*`; secrets-inject falls back to `GetSecretValue` when it is refused). A key encrypted
   * with a customer-managed KMS key also needs `kms:Decrypt` on that key; the CLI's `keygen` uses
   * the account's default `aws/secretsmanager` key, which needs no grant.
   *
   * When the grantee is a role of the app (a function's), synthesis warns
   * (`@nhi-dns/cdk:signingKeyGrant`) on any statement attached to it that reaches another
   * workload's signing key.
   *
   * @param grantee - the function (or role) that signs.
   * @throws {NhiError} `invalid_config` for a KMS-held key and a grantee that is no role.
   */
  grantSign(grantee: iam.IGrantable): iam.Grant {
    if (isConstructRole(grantee.grantPrincipal)) guardSigningKeys(grantee.grantPrincipal, this);
    const signingKey = this.kmsSigningKey;
    if (signingKey === undefined) {
      return iam.Grant.addToPrincipal({
        grantee,
        actions: [...SECRET_READ_ACTIONS],
        resourceArns: [this.secretArnPattern(this.signingKeySecretName)],
      });
    }
    const role = grantee.grantPrincipal;
    if (!isRole(role)) {
      throw invalidConfig(
        'grantSign grantee',
        grantee.grantPrincipal.toString(),
        'a KMS key policy names its signers by role ARN: grant a Lambda function or an IAM role',
      );
    }
    signingKey.addSigner(role);
    // A rotated identity signs with keys the rotation creates later: every key tagged with this
    // identity, which only the rotation function may create, and whose policies name the signers.
    const grant =
      this.rotation === undefined
        ? iam.Grant.addToPrincipal({
            grantee,
            actions: [...KMS_SIGN_ACTIONS],
            resourceArns: [signingKey.key.keyArn],
          })
        : iam.Grant.addToPrincipal({
            grantee,
            actions: [...KMS_SIGN_ACTIONS],
            resourceArns: [Stack.of(this).formatArn({ service: 'kms', resource: 'key', resourceName: '*' })],
            conditions: { StringEquals: { [`aws:ResourceTag/${KMS_IDENTITY_TAG}`]: this.name } },
          });
    if (hasEnvironment(grantee)) {
      grantee.addEnvironment(KMS_KEY_ENVIRONMENT_VARIABLE, signingKey.aliasName);
      // The variable names the alias as a literal, which orders nothing: without this the
      // function could run before the alias exists.
      // The function's resource only: its role must come before the key, whose policy names it.
      const resource = Construct.isConstruct(grantee) ? grantee.node.defaultChild : undefined;
      const alias = signingKey.alias.node.defaultChild;
      if (resource instanceof CfnResource && alias instanceof CfnResource)
        resource.addResourceDependency(alias);
    }
    return grant;
  }

  /**
   * Lets `grantee` read secrets of this identity's environment namespace, `/<environment>/<name>`
   * for each name (`ledger/db` → `/prod/ledger/db`), as secrets-inject resolves them:
   * `secretsmanager:GetSecretValue` and `DescribeSecret` on each secret's ARN pattern, nothing
   * else. Names are checked as secrets-inject checks them (no `..`, leading `/` or ARN), and
   * names under `nhi/` are refused: signing keys are granted by {@link NhiIdentity.grantSign}
   * only, each to its own identity's workloads.
   *
   * @param grantee - the function (or role) that reads the secrets.
   * @param names - secret names relative to `/<environment>/`; at least one.
   * @throws {NhiError} `invalid_config` for a name that could leave the namespace.
   */
  grantSecrets(grantee: iam.IGrantable, names: readonly string[]): iam.Grant {
    if (!Array.isArray(names) || names.length === 0) {
      throw invalidConfig('secrets', names, 'give at least one secret name');
    }
    const unique = [...new Set(names.map((name) => checkSecretName(name, this.environment)))];
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...SECRET_READ_ACTIONS],
      resourceArns: unique.map((name) => this.secretArnPattern(this.secretName(name))),
    });
  }

  /**
   * Full name of a secret of this identity's environment: `/<environment>/<name>`.
   * @param name - relative name, e.g. `ledger/db`.
   */
  secretName(name: string): string {
    return `/${this.environment}/${checkSecretName(name, this.environment)}`;
  }

  #hostedZoneId(
    props: { readonly hostedZone?: route53.IHostedZone; readonly hostedZoneId?: string },
    who: string,
  ): string {
    const { hostedZone, hostedZoneId } = props;
    if ((hostedZone === undefined) === (hostedZoneId === undefined)) {
      throw invalidConfig(
        'hostedZone',
        hostedZone === undefined ? undefined : '<given with hostedZoneId>',
        `${who} needs exactly one of hostedZone and hostedZoneId`,
      );
    }
    if (hostedZone === undefined) return checkHostedZoneId(hostedZoneId as string);
    let zoneName: string | undefined;
    try {
      zoneName = hostedZone.zoneName;
    } catch {
      // HostedZone.fromHostedZoneId() knows no name: nothing to compare.
      zoneName = undefined;
    }
    if (zoneName !== undefined && !Token.isUnresolved(zoneName)) {
      const hosted = canonicalName(zoneName);
      if (this.name !== hosted && !this.name.endsWith(`.${hosted}`)) {
        throw invalidConfig('hostedZone', hosted, `the record ${this.name} must be inside the hosted zone`);
      }
    }
    return hostedZone.hostedZoneId;
  }

  #ttlSeconds(ttl: Duration | undefined): number {
    if (ttl === undefined) return DEFAULT_RECORD_TTL_SECONDS;
    const seconds = ttl.toSeconds();
    // What Route 53 accepts.
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 2_147_483_647) {
      throw invalidConfig('ttl', seconds, 'a whole number of seconds within 0..2147483647');
    }
    return seconds;
  }
}

/** The checked `signingKey` and `kmsKeyType`. */
const checkCustody = (props: NhiIdentityBaseProps): NhiSigningKeyCustody => {
  const custody = props.signingKey ?? 'secret';
  if (custody !== 'secret' && custody !== 'kms') {
    throw invalidConfig('signingKey', custody, "'kms' (recommended) or 'secret'");
  }
  if (props.kmsKeyType !== undefined) {
    if (custody !== 'kms') throw invalidConfig('kmsKeyType', props.kmsKeyType, "only with signingKey: 'kms'");
    if (props.kmsKeyType !== 'ed25519' && props.kmsKeyType !== 'p256') {
      throw invalidConfig('kmsKeyType', props.kmsKeyType, "'ed25519' or 'p256'");
    }
  }
  return custody;
};

/** True for a principal that is an IAM role (a function's, created or imported). */
const isRole = (principal: iam.IPrincipal): principal is iam.IRole =>
  typeof (principal as Partial<iam.IRole>).roleArn === 'string' &&
  typeof (principal as Partial<iam.IRole>).roleName === 'string';

/** True for a grantee that takes environment variables (a `lambda.Function`). */
const hasEnvironment = (
  grantee: iam.IGrantable,
): grantee is iam.IGrantable & { addEnvironment(key: string, value: string): unknown } =>
  typeof (grantee as { addEnvironment?: unknown }).addEnvironment === 'function';

/** A hosted zone id as Route 53 prints it (`Z0123456789ABC`); `/hostedzone/` is dropped. */
const HOSTED_ZONE_ID = /^[A-Z0-9]{1,32}$/;

/** The bare id of a literal `hostedZoneId` (`/hostedzone/Z1` → `Z1`); a token passes unchanged. */
const checkHostedZoneId = (hostedZoneId: string): string => {
  if (typeof hostedZoneId !== 'string') throw invalidConfig('hostedZoneId', hostedZoneId, 'must be a string');
  if (Token.isUnresolved(hostedZoneId)) return hostedZoneId;
  const bare = hostedZoneId.replace(/^\/hostedzone\//, '');
  if (!HOSTED_ZONE_ID.test(bare)) {
    throw invalidConfig(
      'hostedZoneId',
      hostedZoneId,
      'a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ',
    );
  }
  return bare;
};
