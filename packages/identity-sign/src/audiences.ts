import { canonicalName } from '@nhi-dns/core';
import { SigningError } from './errors.js';

/** What a call goes to, as identity-sign names it when it looks up the audience. */
export type SigningTarget =
  | { readonly carrier: 'http'; readonly url: URL }
  | { readonly carrier: 'invoke'; readonly functionName: string }
  | { readonly carrier: 'sqs'; readonly queueUrl: string }
  | { readonly carrier: 'sns'; readonly topicArn: string }
  | { readonly carrier: 'eventbridge'; readonly eventBusName: string };

/**
 * How the callee is named for a target: an exact map from URL origin (`https://api.example.com`),
 * Lambda function name or ARN, SQS queue URL, SNS topic ARN or EventBridge bus name/ARN to the
 * callee's identity name, or a function that returns the identity (or `undefined`).
 */
export type AudienceMap =
  | Readonly<Record<string, string | readonly string[]>>
  | ((target: SigningTarget) => string | readonly string[] | undefined);

/** The key of `target` in an {@link AudienceMap} record, and a looser key tried second. */
const keysOf = (target: SigningTarget): readonly string[] => {
  switch (target.carrier) {
    case 'http':
      return [target.url.origin];
    case 'invoke': {
      // A qualifier (`:live`, `:7`) names a version of the same function, hence the same identity.
      const name = target.functionName;
      const arn = /^(arn:[^:]+:lambda:[^:]+:\d{12}:function:[^:]+)(?::[^:]+)?$/.exec(name);
      if (arn !== null) return [name, arn[1]!];
      const qualified = /^([^:]+):[^:]+$/.exec(name);
      return qualified === null ? [name] : [name, qualified[1]!];
    }
    case 'sqs':
      return [target.queueUrl];
    case 'sns':
      return [target.topicArn];
    case 'eventbridge':
      return [target.eventBusName];
  }
};

/** A human name of `target` for error messages (no secrets in targets). */
export const describeTarget = (target: SigningTarget): string => {
  switch (target.carrier) {
    case 'http':
      return `URL origin ${target.url.origin}`;
    case 'invoke':
      return `function ${target.functionName}`;
    case 'sqs':
      return `queue ${target.queueUrl}`;
    case 'sns':
      return `topic ${target.topicArn}`;
    case 'eventbridge':
      return `event bus ${target.eventBusName}`;
  }
};

/**
 * The audience of a call: the explicit one when given, else the map's entry for the target.
 * Lookups are exact (an origin is scheme + host + port; a function name does not match an ARN):
 * a proof sent to the wrong party could be replayed by it against the audience it names.
 *
 * @throws {SigningError} `no_audience` when nothing names the callee.
 */
export const audienceFor = (
  audiences: AudienceMap | undefined,
  target: SigningTarget,
  explicit?: string | readonly string[],
): string | string[] => {
  const found =
    explicit ??
    (typeof audiences === 'function'
      ? audiences(target)
      : audiences === undefined
        ? undefined
        : keysOf(target)
            .map((key) => (Object.hasOwn(audiences, key) ? audiences[key] : undefined))
            .find((value) => value !== undefined));
  if (
    found === undefined ||
    (typeof found === 'string' ? found === '' : !Array.isArray(found) || found.length === 0)
  ) {
    throw new SigningError(
      'no_audience',
      `identity-sign: no audience for ${describeTarget(target)} (add it to the audiences option or pass aud)`,
    );
  }
  return typeof found === 'string' ? canonicalName(found) : found.map((name) => canonicalName(String(name)));
};
