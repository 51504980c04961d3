/**
 * Does an IAM grant let its principal read other workloads' signing keys? Each workload's
 * private key is the Secrets Manager secret `/<environment>/nhi/<service>/signing-key` (DESIGN
 * §4.5), so a grant such as `secretsmanager:GetSecretValue` on `arn:…:secret:/prod/*` hands every
 * key of `prod` to the function holding it, and with a key the function can sign as that
 * workload. The deploy tools (serverless-nhi-dns, @nhi-dns/cdk) ask this before they deploy.
 *
 * @module
 */

/** A workload whose own signing key a grant may reach: `/<environment>/nhi/<service>/signing-key`. */
export interface SigningKeyOwner {
  /** Environment label, e.g. `prod`. */
  readonly environment: string;
  /** Service label, e.g. `billing`. */
  readonly service: string;
}

/**
 * The action that reads a secret's value. `BatchGetSecretValue` is not listed: it authorizes
 * each secret through `GetSecretValue`, so on its own (it takes only `"Resource": "*"`) it reads
 * nothing.
 */
const READ_VALUE_ACTION = 'secretsmanager:getsecretvalue';

/** One position of a pattern: a character test, taken once or any number of times. */
interface Step {
  readonly test: (char: string) => boolean;
  readonly repeat: boolean;
}

const anyChar = (): boolean => true;
const literalSteps = (text: string): Step[] =>
  [...text].map((char) => ({ test: (other: string) => other === char, repeat: false }));
const oneOrMore = (test: (char: string) => boolean): Step[] => [
  { test, repeat: false },
  { test, repeat: true },
];
const notColon = (char: string): boolean => char !== ':';
const isLabelChar = (char: string): boolean => /^[a-z0-9-]$/.test(char);
const isAlphanumeric = (char: string): boolean => /^[A-Za-z0-9]$/.test(char);

/**
 * The ARN of any signing key: partition, region and account are any non-empty field, the labels
 * any run of `[a-z0-9-]` (their 63-character bound is left out), and Secrets Manager's suffix is
 * `-` and six random characters.
 */
const KEY_ARN_STEPS: readonly Step[] = [
  ...literalSteps('arn:'),
  ...oneOrMore(notColon),
  ...literalSteps(':secretsmanager:'),
  ...oneOrMore(notColon),
  ...literalSteps(':'),
  ...oneOrMore(notColon),
  ...literalSteps(':secret:/'),
  ...oneOrMore(isLabelChar),
  ...literalSteps('/nhi/'),
  ...oneOrMore(isLabelChar),
  ...literalSteps('/signing-key-'),
  ...Array.from({ length: 6 }, () => ({ test: isAlphanumeric, repeat: false })),
];
const KEY_ARN_LITERALS = 'arn:secretsmanager:/nhi/signing-key-';

/** IAM's wildcards: `*` any run of characters (`/` and `:` included), `?` exactly one. */
const globSteps = (pattern: string): Step[] =>
  [...pattern].map((char) =>
    char === '*'
      ? { test: anyChar, repeat: true }
      : char === '?'
        ? { test: anyChar, repeat: false }
        : { test: (other: string) => other === char, repeat: false },
  );

/** The positions reachable from `index` without reading a character (over repeated steps). */
const closure = (steps: readonly Step[], index: number): number[] => {
  const reached = [index];
  for (let at = index; steps[at]?.repeat === true; at += 1) reached.push(at + 1);
  return reached;
};

const advance = (steps: readonly Step[], index: number, char: string): number[] => {
  const step = steps[index];
  if (step === undefined || !step.test(char)) return [];
  return closure(steps, step.repeat ? index : index + 1);
};

/** True when `text` matches an IAM glob, ignoring case (as IAM compares actions). */
const globMatches = (pattern: string, text: string): boolean => {
  const steps = globSteps(pattern.toLowerCase());
  let positions = new Set(closure(steps, 0));
  for (const char of text.toLowerCase()) {
    positions = new Set([...positions].flatMap((index) => advance(steps, index, char)));
  }
  return positions.has(steps.length);
};

/**
 * The owners' own keys, as a deterministic automaton over the whole ARN: it counts the six `:`
 * before the resource name (no field before it can hold one, and a secret name cannot), then
 * walks a trie of `/<environment>/nhi/<service>/`. Completing an owner's path is the one dead
 * state: that ARN is the owner's own key.
 */
class OwnKeys {
  static readonly #FREE = -1;
  static readonly #OWNED = -2;
  static readonly #COLONS = 6;
  readonly #children: Map<string, number>[] = [new Map()];
  readonly #terminal: boolean[] = [false];
  /** Every character of the owners' paths (the alphabet must include them). */
  readonly literals: string;

  constructor(owners: readonly SigningKeyOwner[]) {
    const paths = owners.map((owner) => `/${owner.environment}/nhi/${owner.service}/`);
    for (const path of paths) {
      let node = 0;
      for (const char of path) {
        const children = this.#children[node]!;
        let child = children.get(char);
        if (child === undefined) {
          child = this.#children.push(new Map()) - 1;
          this.#terminal.push(false);
          children.set(char, child);
        }
        node = child;
      }
      this.#terminal[node] = true;
    }
    this.literals = paths.join('');
  }

  get start(): number {
    return 0;
  }

  next(state: number, char: string): number {
    if (state === OwnKeys.#FREE || state === OwnKeys.#OWNED) return state;
    if (state < OwnKeys.#COLONS) return char === ':' ? state + 1 : state;
    const child = this.#children[state - OwnKeys.#COLONS]!.get(char);
    if (child === undefined) return OwnKeys.#FREE;
    return this.#terminal[child] === true ? OwnKeys.#OWNED : child + OwnKeys.#COLONS;
  }

  accepts(state: number): boolean {
    return state !== OwnKeys.#OWNED;
  }
}

/**
 * The characters worth trying: every literal of the pattern, the key ARN and the owners' paths,
 * plus one character of each class none of them uses. Any other character behaves exactly like
 * the representative of its class in all three automata, so the search stays exact.
 */
const alphabetOf = (literals: string): string[] => {
  const used = new Set(literals);
  const classes = [
    'abcdefghijklmnopqrstuvwxyz',
    'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
    '0123456789',
    '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
  ];
  const spare = classes.flatMap((members) => [...members].find((char) => !used.has(char)) ?? []);
  return [...used, ...spare];
};

/**
 * True when some signing-key ARN other than the owners' own matches `pattern`: a search over the
 * product of the pattern, the key ARN and the owners' automata for a string all three accept.
 */
const patternReachesKeys = (pattern: string, owners: readonly SigningKeyOwner[]): boolean => {
  const glob = globSteps(pattern);
  const own = new OwnKeys(owners);
  const alphabet = alphabetOf(
    `${[...pattern].filter((char) => char !== '*' && char !== '?').join('')}${KEY_ARN_LITERALS}${own.literals}`,
  );
  const seen = new Set<string>();
  const queue: [number, number, number][] = [];
  const visit = (g: number, k: number, o: number): void => {
    const key = `${g},${k},${o}`;
    if (seen.has(key)) return;
    seen.add(key);
    queue.push([g, k, o]);
  };
  for (const g of closure(glob, 0)) for (const k of closure(KEY_ARN_STEPS, 0)) visit(g, k, own.start);
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    const [g, k, o] = item;
    if (g === glob.length && k === KEY_ARN_STEPS.length && own.accepts(o)) return true;
    for (const char of alphabet) {
      const nextOwn = own.next(o, char);
      if (!own.accepts(nextOwn)) continue;
      for (const nextGlob of advance(glob, g, char)) {
        for (const nextKey of advance(KEY_ARN_STEPS, k, char)) visit(nextGlob, nextKey, nextOwn);
      }
    }
  }
  return false;
};

/** True when one of the IAM action patterns (`*`, `secretsmanager:Get*`) covers `GetSecretValue`. */
const readsSecretValues = (actions: readonly string[]): boolean =>
  actions.some((action) => globMatches(action, READ_VALUE_ACTION));

/**
 * True when a grant of `actions` on `resources` lets its principal read the signing key of a
 * workload other than `own`: some action covers `secretsmanager:GetSecretValue` (`*`,
 * `secretsmanager:*`, `secretsmanager:Get*`, case-insensitive as IAM compares actions) and some
 * resource pattern matches the ARN of a key `/<environment>/nhi/<service>/signing-key-XXXXXX`
 * of any account, region, environment and service other than the owners'.
 *
 * The match is exact for IAM's wildcards (`*` any run of characters, `/` and `:` included; `?`
 * one): `arn:aws:secretsmanager:*:*:secret:/prod/*`, `…:secret:*`, `*` and
 * `…:secret:/prod/nhi/billing*` (which also matches `billing-eu`'s key) all reach, while
 * `…:secret:/prod/app/*` and an owner's own `…:secret:/prod/nhi/billing/signing-key-??????`
 * do not. `BatchGetSecretValue` alone does not count: each secret it returns needs
 * `GetSecretValue` on that secret.
 *
 * @param actions - the statement's `Action` patterns.
 * @param resources - the statement's `Resource` patterns (plain strings; see
 *   {@link signingKeyReach} for CloudFormation values).
 * @param own - workloads whose own key the grant may name (a function signing as itself).
 *
 * @example
 * grantReachesSigningKeys(['secretsmanager:GetSecretValue'], ['arn:aws:secretsmanager:*:*:secret:/prod/*']); // true
 * grantReachesSigningKeys(['secretsmanager:GetSecretValue'], ['arn:aws:secretsmanager:*:*:secret:/prod/app/*']); // false
 */
export const grantReachesSigningKeys = (
  actions: readonly string[],
  resources: readonly string[],
  own: readonly SigningKeyOwner[] = [],
): boolean => readsSecretValues(actions) && resources.some((resource) => patternReachesKeys(resource, own));

const asList = (value: unknown): unknown[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `Fn::Sub` text as a glob: every `${…}` may be anything, `${!…}` is the literal `${…}`. */
const subPattern = (text: string): string =>
  text.replace(/\$\{(!?)([^}]*)\}/g, (_, escaped: string, body: string) => (escaped ? `\${${body}}` : '*'));

/** The text of a part of `Fn::Join`: literals kept, anything computed read as `*`. */
const joinPart = (part: unknown): string => {
  if (typeof part === 'string') return part;
  if (isRecord(part) && typeof part['Fn::Sub'] === 'string') return subPattern(part['Fn::Sub']);
  const join = isRecord(part) ? part['Fn::Join'] : undefined;
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
    return join[1].map(joinPart).join(join[0]);
  }
  return '*';
};

/** Intrinsics that name one resource (a secret's `Ref` is its ARN), never a pattern. */
const REFERENCES = new Set(['Ref', 'Fn::GetAtt', 'Fn::ImportValue']);

/**
 * The globs a CloudFormation `Resource` value stands for: strings as they are, `Fn::Sub` and
 * `Fn::Join` with every computed part read as `*`, both branches of `Fn::If`, nothing for a
 * reference, and `*` for any other intrinsic (its value is unknown before deployment).
 */
const resourcePatterns = (value: unknown): string[] => {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(resourcePatterns);
  if (!isRecord(value)) return ['*'];
  const [name, argument] = Object.entries(value)[0] ?? [];
  if (name === undefined || REFERENCES.has(name)) return [];
  if (name === 'Fn::Sub') {
    const text = Array.isArray(argument) ? argument[0] : argument;
    return [typeof text === 'string' ? subPattern(text) : '*'];
  }
  if (name === 'Fn::Join') return [joinPart(value)];
  if (name === 'Fn::If' && Array.isArray(argument)) return argument.slice(1).flatMap(resourcePatterns);
  return ['*'];
};

/**
 * Where an IAM policy statement, as written in a policy document or a CloudFormation template
 * (serverless.yml's `provider.iam.role.statements`, a synthesized CDK policy), lets its
 * principal read a signing key other than `own`'s; see {@link grantReachesSigningKeys}.
 *
 * - Only `"Effect": "Allow"` grants. `NotAction` counts when it leaves `GetSecretValue` out.
 * - `NotResource` counts whatever it lists: it allows every other resource.
 * - CloudFormation values are read as globs: `Fn::Sub` and `Fn::Join` with each computed part
 *   (`${AWS::Region}`, `!Ref Stage`) as `*`, both branches of `Fn::If`; a `Ref`, `Fn::GetAtt` or
 *   `Fn::ImportValue` names one resource and never counts; any other intrinsic is `*`.
 * - `Condition` is ignored: a tag condition may narrow the grant, but nothing here can tell.
 *
 * @param statement - one statement object.
 * @param own - workloads whose own key the statement may name.
 * @returns the `Resource` pattern that reaches (intrinsics shown as `*`), `'NotResource'` for an
 *   allowed `NotResource`, or `undefined` when the statement reaches no other workload's key.
 */
export const signingKeyReach = (
  statement: unknown,
  own: readonly SigningKeyOwner[] = [],
): string | undefined => {
  if (!isRecord(statement) || statement.Effect !== 'Allow') return undefined;
  // A computed action could be anything: it counts as `*`.
  const actions = (field: unknown): string[] =>
    asList(field).map((action) => (typeof action === 'string' ? action : '*'));
  const reads =
    statement.NotAction === undefined
      ? readsSecretValues(actions(statement.Action))
      : !readsSecretValues(actions(statement.NotAction));
  if (!reads) return undefined;
  if (statement.NotResource !== undefined) return 'NotResource';
  return resourcePatterns(statement.Resource).find((pattern) => patternReachesKeys(pattern, own));
};
