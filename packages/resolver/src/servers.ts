import { isIP } from 'node:net';
import type { ServerAddress } from './types.js';

/** A server in normalised form. */
export interface Server {
  /** Address in canonical form (IPv6 compressed, lower case, no brackets). */
  readonly address: string;
  readonly port: number;
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** `address:port`, IPv6 in brackets: the label used in results, events and errors. */
  readonly label: string;
}

const BRACKETED = /^\[([^\]]+)\](?::(\d{1,5}))?$/;
const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;

/**
 * Canonical text of an IP address, so that a reply's source address compares equal to the
 * configured one however either is spelled (`0:0::1` and `::1`). A zone index (`%eth0`) is kept.
 */
export const canonicalAddress = (address: string): string => {
  if (isIP(address) !== 6) return address;
  const percent = address.indexOf('%');
  const bare = percent < 0 ? address : address.slice(0, percent);
  const zone = percent < 0 ? '' : address.slice(percent);
  // The WHATWG URL parser implements RFC 5952 compression; there is no other built-in for it.
  const host = new URL(`http://[${bare}]/`).hostname;
  return `${host.slice(1, -1)}${zone}`;
};

const checkPort = (port: number, input: string): number => {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`DNS server ${JSON.stringify(input)}: port must be an integer in 1..65535`);
  }
  return port;
};

/**
 * Parses one server given as `'127.0.0.1'`, `'127.0.0.1:5353'`, `'::1'`, `'[::1]:5353'` or
 * `{ address, port }`.
 * @throws {TypeError} when the address is not an IP address.
 * @throws {RangeError} when the port is out of range.
 */
export const parseServer = (input: string | ServerAddress, defaultPort: number): Server => {
  let address: string;
  let port: number;
  if (typeof input === 'string') {
    const bracketed = BRACKETED.exec(input);
    const v4 = IPV4_WITH_PORT.exec(input);
    if (bracketed) {
      address = bracketed[1]!;
      port = bracketed[2] === undefined ? defaultPort : Number(bracketed[2]);
    } else if (v4) {
      address = v4[1]!;
      port = Number(v4[2]);
    } else {
      address = input;
      port = defaultPort;
    }
  } else if (typeof input === 'object' && input !== null && typeof input.address === 'string') {
    address = input.address;
    port = input.port ?? defaultPort;
  } else {
    throw new TypeError('DNS server must be a string or { address, port }');
  }
  const family = isIP(address);
  if (family !== 4 && family !== 6) {
    throw new TypeError(`DNS server ${JSON.stringify(String(address))} is not an IPv4 or IPv6 address`);
  }
  checkPort(port, String(address));
  const canonical = canonicalAddress(address);
  return {
    address: canonical,
    port,
    family,
    label: family === 6 ? `[${canonical}]:${port}` : `${canonical}:${port}`,
  };
};
