/**
 * Validation of middleware options at creation (issue 12 item 8): JavaScript callers and
 * configuration read from the environment get a typed `invalid_config` error that names the
 * option, what was given and what is allowed, instead of a `TypeError` later or a setting that
 * silently means something else.
 */
import { NhiError } from './errors.js';

/** How one option is checked: `allowed` describes the accepted values for the error message. */
export interface OptionRule {
  readonly allowed: string;
  readonly required?: boolean;
  /** True when the (defined) value is acceptable. */
  readonly test: (value: unknown) => boolean;
}

/** Rules by option name; every key the caller passes must have one. */
export type OptionRules = Readonly<Record<string, OptionRule>>;

/** Rule: one of the listed string literals. */
export const oneOf = (...values: readonly string[]): OptionRule => ({
  allowed: values.map((value) => `'${value}'`).join(' | '),
  test: (value) => typeof value === 'string' && values.includes(value),
});

/** Rule: `true` or `false`. */
export const aBoolean: OptionRule = { allowed: 'true | false', test: (value) => typeof value === 'boolean' };

/** Rule: a non-empty string. */
export const aString: OptionRule = {
  allowed: 'a non-empty string',
  test: (value) => typeof value === 'string' && value.length > 0,
};

/** Rule: a function. */
export const aFunction: OptionRule = { allowed: 'a function', test: (value) => typeof value === 'function' };

/** Rule: an object (not `null`, not an array). */
export const anObject: OptionRule = {
  allowed: 'an object',
  test: (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
};

/** Rule: an array of non-empty strings. */
export const aStringList: OptionRule = {
  allowed: 'an array of strings, e.g. ["billing.prod.auth.example.com"]',
  test: (value) => Array.isArray(value) && value.every((item) => typeof item === 'string' && item.length > 0),
};

/** Rule: a number of seconds (or other unit) within `[min, max]`, integer when asked. */
export const aNumber = (
  min: number,
  { integer = false, max = Number.MAX_SAFE_INTEGER, unit = 'seconds' } = {},
): OptionRule => ({
  allowed: `${integer ? 'an integer' : 'a number'} of ${unit} >= ${min}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ''}`,
  test: (value) =>
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= min &&
    value <= max &&
    (!integer || Number.isInteger(value)),
});

/** Rule: any of the given rules. */
export const either = (...rules: readonly OptionRule[]): OptionRule => ({
  allowed: rules.map((rule) => rule.allowed).join(', or '),
  test: (value) => rules.some((rule) => rule.test(value)),
});

/** Rule: anything; the option is checked elsewhere (only its name is known). */
export const anything: OptionRule = { allowed: 'any value', test: () => true };

/** Marks a rule required. */
export const required = (rule: OptionRule): OptionRule => ({ ...rule, required: true });

/** Edit distance, for "did you mean" hints (option names are short). */
const distance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = row[j]!;
      const same = a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase();
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (same ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
};

/** The known option closest to `name`, when it is close enough to be a typo or a near-synonym. */
const closest = (name: string, known: readonly string[]): string | undefined => {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const lowerName = name.toLowerCase();
    const lowerCandidate = candidate.toLowerCase();
    const score =
      lowerName.startsWith(lowerCandidate) || lowerCandidate.startsWith(lowerName)
        ? 0
        : distance(name, candidate);
    if (score < bestDistance) {
      best = candidate;
      bestDistance = score;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
};

const show = (value: unknown): string => {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'string') return `'${value.length > 80 ? `${value.slice(0, 80)}…` : value}'`;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 80)}…` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
};

/**
 * Checks `options` against `rules`: the object itself, unknown keys (with a "did you mean"
 * hint), required options and each value. Options set to `undefined` count as not given.
 *
 * @param packageName - named in the message, e.g. `@nhi-dns/identity-verify`.
 * @param makeError - builds the error thrown; default an `NhiError` with reason `invalid_config`.
 * @throws {NhiError} `invalid_config` (or what `makeError` builds) on the first problem found.
 */
export const validateOptions = (
  packageName: string,
  options: unknown,
  rules: OptionRules,
  makeError: (message: string) => Error = (message) => new NhiError('invalid_config', message),
): void => {
  const fail = (message: string): never => {
    throw makeError(`${packageName}: ${message}`);
  };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    fail(`options must be an object, got ${options === undefined ? 'nothing' : show(options)}`);
  }
  const given = options as Record<string, unknown>;
  const known = Object.keys(rules);
  for (const key of Object.keys(given)) {
    if (Object.hasOwn(rules, key)) continue;
    const hint = closest(key, known);
    fail(
      `unknown option '${key}'${hint === undefined ? '' : ` (did you mean '${hint}'?)`}; known options: ${known.join(', ')}`,
    );
  }
  for (const [key, rule] of Object.entries(rules)) {
    const value = given[key];
    if (value === undefined) {
      if (rule.required === true) fail(`option '${key}' is required: ${rule.allowed}`);
      continue;
    }
    if (!rule.test(value)) fail(`option '${key}' is ${show(value)}; allowed: ${rule.allowed}`);
  }
};
