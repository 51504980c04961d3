import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';

/** What a stub resolver uses from resolv.conf(5). */
export interface ResolvConf {
  /** `nameserver` addresses, in file order. */
  nameservers: string[];
  /** `options timeout:N`, converted to milliseconds. */
  timeoutMs?: number;
  /** `options attempts:N`. */
  attempts?: number;
}

/** glibc caps `timeout:` at 30 s and `attempts:` at 5; larger values are clamped the same way. */
const MAX_TIMEOUT_SECONDS = 30;
const MAX_ATTEMPTS = 5;

/**
 * Parses resolv.conf(5) text. Unknown keywords, comments (`#`, `;`) and invalid addresses are
 * ignored, as glibc does; it never throws.
 */
export const parseResolvConf = (text: string): ResolvConf => {
  const result: ResolvConf = { nameservers: [] };
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/[#;].*$/, '').trim();
    const [keyword, ...args] = line.split(/\s+/);
    if (keyword === 'nameserver' && args[0] !== undefined && isIP(args[0]) !== 0) {
      result.nameservers.push(args[0]);
    } else if (keyword === 'options') {
      for (const option of args) {
        const [name, value] = option.split(':');
        const number = Number(value);
        if (value === undefined || !/^\d+$/.test(value)) continue;
        if (name === 'timeout') result.timeoutMs = Math.min(Math.max(number, 1), MAX_TIMEOUT_SECONDS) * 1000;
        if (name === 'attempts') result.attempts = Math.min(Math.max(number, 1), MAX_ATTEMPTS);
      }
    }
  }
  return result;
};

/** Reads and parses a resolv.conf; a missing or unreadable file gives no servers. */
export const loadResolvConf = async (path: string): Promise<ResolvConf> => {
  try {
    return parseResolvConf(await readFile(path, 'utf8'));
  } catch {
    return { nameservers: [] };
  }
};
