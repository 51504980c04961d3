import type { RecordUpdateResult } from './record-update.js';

/** Where the CLI writes. */
export interface CliOutput {
  /** Results: human text, or one JSON document with `--json`. */
  readonly stdout: (text: string) => void;
  /** Progress and errors. */
  readonly stderr: (text: string) => void;
}

const keyLine = (key: RecordUpdateResult['keys'][number]): string => {
  const state = key.revoked
    ? 'revoked'
    : key.expiresAt === undefined
      ? 'active'
      : `expires ${new Date(key.expiresAt * 1000).toISOString()}`;
  return `  kid=${key.kid} k=${key.keyType} ${state}`;
};

/** Human-readable lines for one record update (dry runs include the change batch as JSON). */
export const describeUpdate = (update: RecordUpdateResult): string[] => {
  const lines = [
    `${update.name}: ${update.status}${update.changeId === undefined ? '' : ` (${update.changeId})`}`,
  ];
  if (update.status === 'dry-run' && update.changeBatch !== undefined) {
    lines.push('change batch (not submitted):', JSON.stringify(update.changeBatch, null, 2));
  }
  lines.push(`keys at ${update.name} (TTL ${update.ttl}):`, ...update.keys.map(keyLine));
  return lines;
};
