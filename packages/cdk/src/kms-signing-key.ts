import {
  type KeyType,
  KMS_ADMIN_ACTIONS,
  KMS_IDENTITY_TAG,
  KMS_KEY_SPECS,
  KMS_SIGNER_ACTIONS,
  kmsAliasName,
} from '@nhi-dns/core';
import { Lazy, RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** Actions a signer needs on its KMS key (core's list, re-exported for CDK users). */
export const KMS_SIGN_ACTIONS: readonly string[] = KMS_SIGNER_ACTIONS;

export { KMS_ADMIN_ACTIONS, KMS_IDENTITY_TAG };

/** Properties of {@link NhiKmsSigningKey}. */
export interface NhiKmsSigningKeyProps {
  /** The identity name, e.g. `billing.prod.auth.example.com`. */
  readonly name: string;
  /** Service label. */
  readonly service: string;
  /** Environment label. */
  readonly environment: string;
  /** The record key type: `ed25519` (`ECC_NIST_EDWARDS25519`) or `p256` (`ECC_NIST_P256`). */
  readonly keyType: KeyType;
}

/**
 * An identity's signing key in AWS KMS (DESIGN §3a), with the key policy of the CLI's
 * `nhi-dns keygen --kms`: the account administers the key and reads its public half but does
 * not sign; `kms:Sign` is denied to every principal but the signer roles
 * ({@link NhiKmsSigningKey.addSigner}), which alone are allowed it. Created non-exportable
 * (`SIGN_VERIFY`, key material made by KMS), named `alias/nhi/<environment>/<service>`, tagged
 * `nhi:identity`, and retained when the stack is deleted (the record may still name it).
 *
 * The signers are named in conditions on `aws:PrincipalArn`, not as principals: KMS checks that
 * every principal of a key policy exists when the policy is written, and a role created in the
 * same deployment may not be visible to it yet; a condition is a string match that needs no
 * lookup, and still matches a role deleted and created again under its name.
 */
export class NhiKmsSigningKey extends Construct {
  /** The KMS key. */
  readonly key: kms.Key;
  /** Its alias, `alias/nhi/<environment>/<service>`. */
  readonly alias: kms.Alias;
  /** The literal alias name. */
  readonly aliasName: string;
  /** The record key type. */
  readonly keyType: KeyType;
  readonly #signers: string[] = [];
  readonly #signerKeys = new Set<string>();
  #signerStatement?: iam.PolicyStatement;

  /**
   * @param scope - parent construct (the identity).
   * @param id - construct id.
   * @param props - the identity and the key type.
   */
  constructor(scope: Construct, id: string, props: NhiKmsSigningKeyProps) {
    super(scope, id);
    this.keyType = props.keyType;
    this.aliasName = kmsAliasName(props.service, props.environment);
    const account = new iam.AccountRootPrincipal();
    const policy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'AccountAdministersButDoesNotSign',
          effect: iam.Effect.ALLOW,
          principals: [account],
          actions: [...KMS_ADMIN_ACTIONS],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'OnlyTheWorkloadSigns',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['kms:Sign'],
          resources: ['*'],
          conditions: {
            // No signer yet: no one signs (the account root is no workload), as keygen --kms
            // writes the policy before it grants the signer roles.
            ArnNotEquals: { 'aws:PrincipalArn': this.#signerArns(account.arn) },
          },
        }),
      ],
    });
    this.key = new kms.Key(this, 'Key', {
      description: `nhi-dns signing key of ${props.name}`,
      keySpec: kms.KeySpec[KMS_KEY_SPECS[props.keyType].keySpec],
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      policy,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Tags.of(this.key).add(KMS_IDENTITY_TAG, props.name);
    this.alias = new kms.Alias(this, 'Alias', { aliasName: this.aliasName, targetKey: this.key });
  }

  /**
   * Lets `role` sign with the key: its ARN joins the exception of the `kms:Sign` deny and the
   * `WorkloadSigns` allow of the key policy (the role still needs the IAM grant, which
   * `NhiIdentity.grantSign` adds). Once per role.
   */
  addSigner(role: iam.IRole): void {
    const stack = this.key.stack;
    const key = JSON.stringify(stack.resolve(role.roleArn));
    if (this.#signerKeys.has(key)) return;
    this.#signerKeys.add(key);
    this.#signers.push(role.roleArn);
    if (this.#signerStatement === undefined) {
      this.#signerStatement = new iam.PolicyStatement({
        sid: 'WorkloadSigns',
        effect: iam.Effect.ALLOW,
        principals: [new iam.AccountRootPrincipal()],
        actions: [...KMS_SIGN_ACTIONS],
        resources: ['*'],
        conditions: { ArnEquals: { 'aws:PrincipalArn': this.#signerArns() } },
      });
      this.key.addToResourcePolicy(this.#signerStatement);
    }
  }

  /**
   * The signer role ARNs granted so far (tokens of the roles): read at synthesis, after every
   * `grantSign`, e.g. by the scheduled rotation, which writes them into each new key's policy.
   */
  get signerRoleArns(): readonly string[] {
    return [...this.#signers];
  }

  /** The signer role ARNs at synthesis, or `[whenNone]` while there is none. */
  #signerArns(whenNone?: string): unknown {
    return Lazy.any({
      produce: () => (this.#signers.length === 0 && whenNone !== undefined ? [whenNone] : [...this.#signers]),
    });
  }
}
