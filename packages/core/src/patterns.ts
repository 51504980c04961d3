import { NhiError } from './errors.js';
import { canonicalName, isIdentityLabel, parseZone, tryParseIdentityName } from './names.js';

/** Decides whether a caller identity name (canonical form) is allowed. */
export type IdentityMatcher = (name: string) => boolean;

/** A `*` stands for exactly one label, and only in the service or environment position. */
const WILDCARD = '*';

const invalidPattern = (pattern: string, why: string): NhiError =>
  new NhiError('invalid_pattern', `allow pattern ${JSON.stringify(pattern)} ${why}`);

/**
 * Compiles an `allow` list (DESIGN §4.3) into a matcher. Patterns are canonicalised (case,
 * trailing dot) and take three forms under `zone`:
 * - an exact name: `billing.prod.<zone>`;
 * - `*.prod.<zone>`: any service in environment `prod`;
 * - `billing.*.<zone>`: service `billing` in any environment
 *   (`*.*.<zone>`, every identity of the zone, is allowed too, being explicit).
 * A `*` matches exactly one label, so `*.prod.<zone>` never matches `a.b.prod.<zone>`.
 * An empty list allows nobody. Matching is two set look-ups, whatever the list's length.
 *
 * @throws {NhiError} `invalid_pattern` for a pattern outside the zone, at the wrong depth,
 *   or with a wildcard anywhere else (`bill*`, `*.<zone>`, a zone label); `invalid_zone`
 *   for a bad zone. Both at init, so a bad policy never reaches a request.
 */
export const compileAllowList = (patterns: readonly string[], zone: string): IdentityMatcher => {
  const canonicalZone = parseZone(zone);
  const suffix = `.${canonicalZone}`;
  const exact = new Set<string>();
  const anyServiceIn = new Set<string>();
  const anyEnvironmentOf = new Set<string>();
  let anyIdentity = false;

  for (const pattern of patterns) {
    if (typeof pattern !== 'string') throw invalidPattern(String(pattern), 'is not a string');
    const canonical = canonicalName(pattern);
    if (!canonical.endsWith(suffix)) throw invalidPattern(pattern, `is not inside ${canonicalZone}`);
    const labels = canonical.slice(0, -suffix.length).split('.');
    const [service, environment] = labels;
    if (labels.length !== 2 || service === undefined || environment === undefined) {
      throw invalidPattern(pattern, 'must be <service>.<environment> directly under the zone');
    }
    const serviceIsWild = service === WILDCARD;
    const environmentIsWild = environment === WILDCARD;
    if (
      (!serviceIsWild && !isIdentityLabel(service)) ||
      (!environmentIsWild && !isIdentityLabel(environment))
    ) {
      throw invalidPattern(pattern, 'has a label that is neither a name nor a lone *');
    }
    if (serviceIsWild && environmentIsWild) anyIdentity = true;
    else if (serviceIsWild) anyServiceIn.add(environment);
    else if (environmentIsWild) anyEnvironmentOf.add(service);
    else exact.add(canonical);
  }

  return (name: string): boolean => {
    const identity = tryParseIdentityName(name, canonicalZone);
    if (identity === undefined) return false;
    return (
      anyIdentity ||
      exact.has(identity.name) ||
      anyServiceIn.has(identity.environment) ||
      anyEnvironmentOf.has(identity.service)
    );
  };
};
