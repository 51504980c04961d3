import { isIP } from 'node:net';
import { NhiError } from '@nhi-dns/core';
import { Token } from 'aws-cdk-lib';

/** Characters Secrets Manager allows in a name (`:` and so ARNs excluded). */
const SECRET_NAME_CHARACTERS = /^[A-Za-z0-9/_+=.@-]+$/;
/** Longest secret name Secrets Manager accepts. */
const MAX_SECRET_NAME_LENGTH = 512;

/** A configuration error naming the option, the value given and what is allowed. */
export const invalidConfig = (option: string, value: unknown, allowed: string): NhiError =>
  new NhiError(
    'invalid_config',
    `@nhi-dns/cdk: ${option} ${JSON.stringify(value)} is not allowed: ${allowed}`,
  );

/**
 * Refuses an unresolved token: the record text, the IAM resource patterns and the alarm queries
 * are computed at synthesis, so these values must be known then (CloudFormation parameters and
 * other tokens cannot be checked against the DNS and secret-name rules).
 */
export const literal = (option: string, value: unknown): string => {
  if (typeof value !== 'string') throw invalidConfig(option, value, 'must be a string');
  if (Token.isUnresolved(value)) {
    throw invalidConfig(
      option,
      value,
      'must be known at synthesis (a literal string, not a token or parameter)',
    );
  }
  return value;
};

/**
 * Validates a secret name relative to the environment namespace (`ledger/db`), the rule
 * secrets-inject applies at init: no leading or trailing `/`, no empty, `.` or `..` segment, no
 * ARN, only `[A-Za-z0-9/_+=.@-]`. Names under `nhi/` are refused too: that subtree holds the
 * workloads' signing keys, which only `NhiIdentity.grantSign` of their own identity grants.
 */
export const checkSecretName = (name: unknown, environment: string): string => {
  const value = literal('secret name', name);
  const fail = (allowed: string): never => {
    throw invalidConfig('secret name', value, allowed);
  };
  if (value.length === 0 || !SECRET_NAME_CHARACTERS.test(value)) {
    fail('use 1 or more characters of [A-Za-z0-9/_+=.@-], relative to /<environment>/ (no ARNs)');
  }
  const segments = value.split('/');
  if (!segments.every((segment) => segment.length > 0 && segment !== '.' && segment !== '..')) {
    fail('it must stay inside /<environment>/ (no leading or trailing "/", "//", "." or "..")');
  }
  if (segments[0] === 'nhi') {
    fail("nhi/ holds signing keys: grant a key with the identity's grantSign(), which names exactly one");
  }
  if (`/${environment}/${value}`.length > MAX_SECRET_NAME_LENGTH) {
    fail(`/${environment}/<name> must be at most ${MAX_SECRET_NAME_LENGTH} characters`);
  }
  return value;
};

const BRACKETED = /^\[([^\]]+)\](?::(\d{1,5}))?$/;
const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;

/**
 * True for a DNS server as the resolver parses `NHI_DNS_SERVERS` entries: `10.0.0.2`,
 * `10.0.0.2:5353`, `fd00::2`, `[fd00::2]:5353` (an IP address, port 1..65535).
 */
const isDnsServer = (server: string): boolean => {
  const bracketed = BRACKETED.exec(server);
  const v4 = IPV4_WITH_PORT.exec(server);
  const [address, port] = bracketed
    ? [bracketed[1], bracketed[2]]
    : v4
      ? [v4[1], v4[2]]
      : [server, undefined];
  const portOk = port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
  return address !== undefined && isIP(address) !== 0 && portOk;
};

/** The checked `dnsServers` (`NHI_DNS_SERVERS` entries), shared by nhiProtect and the rotation function. */
export const checkDnsServers = (servers: readonly string[]): string[] => {
  if (!Array.isArray(servers) || servers.length === 0) {
    throw invalidConfig('dnsServers', servers, 'a non-empty list of addresses (10.0.0.2, 127.0.0.1:5353)');
  }
  return servers.map((server) => {
    const value = literal('dnsServers entry', server);
    if (!isDnsServer(value)) {
      throw invalidConfig(
        'dnsServers entry',
        value,
        'an IPv4 or IPv6 address, optionally with :port ([v6]:port)',
      );
    }
    return value;
  });
};
