import { type SigningKeyOwner, signingKeyReach } from '@nhi-dns/core';
import { Annotations, AspectPriority, Aspects, type CfnResource, type IAspect, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';

/**
 * Id of the warning on a role statement that reaches other workloads' signing keys; acknowledge
 * it with `Annotations.of(scope).acknowledgeWarning(SIGNING_KEY_GRANT_WARNING, reason)`.
 */
export const SIGNING_KEY_GRANT_WARNING = '@nhi-dns/cdk:signingKeyGrant';

/** The workloads whose own keys each guarded role may read (it signs as them). */
const guarded = new WeakMap<iam.IRole, SigningKeyOwner[]>();

/** Short JSON of a statement for the message (configuration only, never a secret). */
const show = (value: unknown): string => {
  const text = JSON.stringify(value);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
};

/** True for a role that is a construct of the app (created or imported), whose grants land in it. */
export const isConstructRole = (value: unknown): value is iam.IRole =>
  Construct.isConstruct(value) &&
  typeof (value as Partial<iam.IRole>).roleArn === 'string' &&
  typeof (value as Partial<iam.IRole>).roleName === 'string';

/**
 * At synthesis (an aspect that only reads, run after the mutating ones), warns on every statement
 * attached to `role` that lets it read a signing key `/<environment>/nhi/<service>/signing-key`
 * other than its owners' (core's `signingKeyReach`): the role's inline policies, and each
 * `AWS::IAM::Policy` and `AWS::IAM::ManagedPolicy` of its stack attached to it (the default
 * policy `addToRolePolicy` and the `grant*` methods fill among them). AWS managed policies are
 * not read: their documents are not in the app.
 */
class SigningKeyGrantCheck implements IAspect {
  readonly #role: iam.IRole;
  readonly #owners: readonly SigningKeyOwner[];

  constructor(role: iam.IRole, owners: readonly SigningKeyOwner[]) {
    this.#role = role;
    this.#owners = owners;
  }

  visit(node: IConstruct): void {
    if (node !== this.#role) return;
    const stack = Stack.of(this.#role);
    const key = (value: unknown): string => JSON.stringify(stack.resolve(value));
    const cfnRole =
      this.#role.node.defaultChild instanceof iam.CfnRole ? this.#role.node.defaultChild : undefined;
    const names = new Set([key(this.#role.roleName), ...(cfnRole === undefined ? [] : [key(cfnRole.ref)])]);
    const managedArns = new Set(
      ((stack.resolve(cfnRole?.managedPolicyArns) as unknown[] | undefined) ?? []).map((arn) =>
        JSON.stringify(arn),
      ),
    );
    const attached = (roles: unknown): boolean =>
      ((stack.resolve(roles) as unknown[] | undefined) ?? []).some((name) => names.has(JSON.stringify(name)));

    const documents: [CfnResource, unknown][] = [];
    if (cfnRole !== undefined) {
      const inline = (stack.resolve(cfnRole.policies) as { policyDocument?: unknown }[] | undefined) ?? [];
      for (const policy of inline) documents.push([cfnRole, policy.policyDocument]);
    }
    for (const child of stack.node.findAll()) {
      if (Stack.of(child) !== stack) continue;
      if (child instanceof iam.CfnPolicy && attached(child.roles)) {
        documents.push([child, stack.resolve(child.policyDocument)]);
      } else if (
        child instanceof iam.CfnManagedPolicy &&
        (attached(child.roles) || managedArns.has(key(child.ref)))
      ) {
        documents.push([child, stack.resolve(child.policyDocument)]);
      }
    }
    for (const [resource, document] of documents) {
      const statements = (document as { Statement?: unknown } | undefined)?.Statement;
      for (const statement of Array.isArray(statements) ? statements : []) {
        const reach = signingKeyReach(statement, this.#owners);
        if (reach === undefined) continue;
        Annotations.of(resource).addWarningV2(
          SIGNING_KEY_GRANT_WARNING,
          warning(this.#role, statement, reach),
        );
      }
    }
  }
}

const warning = (role: iam.IRole, statement: unknown, reach: string): string =>
  `The role ${role.node.path} can read other workloads' signing keys (/<environment>/nhi/<service>/signing-key) ` +
  `and so sign as them: ${show(statement)}, ` +
  (reach === 'NotResource'
    ? 'whose NotResource allows every secret it does not list. '
    : `whose Resource ${JSON.stringify(reach)} (tokens read as *) matches them. `) +
  "Grant exact secrets (NhiIdentity.grantSecrets, grantSign for the function's own key) or a prefix outside " +
  'nhi/ (arn:…:secret:/<environment>/<app>/*).';

/**
 * Has the role checked at synthesis for statements reaching signing keys other than `owner`'s
 * and the other owners it was guarded for (once per role, however many constructs ask).
 *
 * @param role - the role of a protected or signing function.
 * @param owner - a workload whose own key the role may read.
 */
export const guardSigningKeys = (role: iam.IRole, owner: SigningKeyOwner): void => {
  const owners = guarded.get(role);
  if (owners !== undefined) {
    if (!owners.some((known) => known.environment === owner.environment && known.service === owner.service)) {
      owners.push(owner);
    }
    return;
  }
  const list = [owner];
  guarded.set(role, list);
  Aspects.of(role).add(new SigningKeyGrantCheck(role, list), { priority: AspectPriority.READONLY });
};
