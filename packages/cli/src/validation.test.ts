import { generateSigningKey } from './keys.js';
import {
  checkAttribute,
  checkHostedZoneId,
  checkKid,
  checkLabel,
  checkLogicalId,
  checkPublishedKey,
  checkRegion,
  checkServer,
  checkTarget,
  checkTtl,
  checkZone,
} from './validation.js';

const usage = expect.objectContaining({ exitCode: 2 });

describe('validation (one module for every command)', () => {
  it('accepts lower-case labels and refuses anything a record or secret name would not hold as is', () => {
    expect(checkLabel('--env', 'prod')).toBe('prod');
    expect(checkLabel('--service', 'billing-2')).toBe('billing-2');
    for (const bad of ['PROD', 'Prod', 'bill_ing', '', 'a.b', 'x'.repeat(64)]) {
      expect(() => checkLabel('--env', bad)).toThrow(
        expect.objectContaining({ reason: 'invalid_name', exitCode: 2 }),
      );
    }
  });

  it('canonicalises zones and refuses invalid ones', () => {
    expect(checkZone('Auth.Example.com.')).toBe('auth.example.com');
    expect(() => checkZone('bad zone')).toThrow(
      expect.objectContaining({ reason: 'invalid_zone', exitCode: 2 }),
    );
  });

  it('accepts Route 53 hosted zone ids with or without /hostedzone/, nothing else', () => {
    for (const good of [
      'Z0123456789ABC',
      '/hostedzone/Z08559491LNT7BKCH9KZ6',
      'Z1',
      'Z',
      'V9AN3MLQ2Q4B0Y62O7VRGE',
    ]) {
      expect(checkHostedZoneId(good)).toBe(good);
    }
    for (const bad of [
      'not-an-id!',
      'z0123',
      'Zabc',
      'hostedzone/Z1',
      '/hostedzone/',
      ' Z1',
      `Z${'A'.repeat(32)}`,
    ]) {
      expect(() => checkHostedZoneId(bad)).toThrow(usage);
    }
  });

  it('accepts IPv4/IPv6 servers with an optional port, as the resolver does', () => {
    for (const good of [
      '10.0.0.2',
      '10.0.0.2:53',
      '::1',
      '[::1]',
      '[::1]:5353',
      '2001:db8::1',
      '[2001:db8::1]:53',
    ]) {
      expect(checkServer(good)).toBe(good);
    }
    for (const bad of [
      'nonsense',
      'dns.google',
      '10.0.0.2:0',
      '10.0.0.2:65536',
      '1.2.3',
      '[10.0.0.2]:53',
      '[::1]:x',
      '',
    ]) {
      expect(() => checkServer(bad)).toThrow(usage);
    }
  });

  it('checks regions, kids, TTLs, logical ids, attributes and keys', async () => {
    for (const good of ['eu-west-1', 'us-east-1', 'us-gov-west-1', 'ap-southeast-4', 'cn-north-1']) {
      expect(checkRegion(good)).toBe(good);
    }
    for (const bad of ['x', 'EU-WEST-1', 'eu-west', 'eu west 1', 'eu-west-1; rm']) {
      expect(() => checkRegion(bad)).toThrow(usage);
    }
    expect(checkKid('k2026-11.a_B')).toBe('k2026-11.a_B');
    expect(() => checkKid('bad kid')).toThrow(usage);
    expect(checkTtl(0)).toBe(0);
    expect(() => checkTtl(2_147_483_648)).toThrow(usage);
    expect(checkLogicalId('NhiIdentity1')).toBe('NhiIdentity1');
    expect(() => checkLogicalId('bad-id')).toThrow(usage);
    expect(() => checkAttribute('tier', 'pci')).not.toThrow();
    expect(() => checkAttribute('tier', 'a;b')).toThrow(usage);
    expect(() => checkAttribute('Bad Name', 'x')).toThrow(usage);
    const key = await generateSigningKey('ed25519', 'k1');
    expect(checkPublishedKey(key)).toBe(key);
    expect(() => checkPublishedKey({ ...key, publicKey: 'not base64!' })).toThrow(usage);
    expect(() => checkPublishedKey({ ...key, keyType: 'p256' })).toThrow(usage);
    expect(() => checkPublishedKey({ ...key, kid: 'bad kid' })).toThrow(usage);
  });

  it('checkTarget checks every identity-naming option at once', () => {
    const target = { service: 'billing', environment: 'prod', zone: 'auth.example.com' };
    expect(() => checkTarget({ ...target, hostedZoneId: 'Z1', kid: 'k1', ttl: 60 })).not.toThrow();
    expect(() => checkTarget({ ...target, environment: 'PROD' })).toThrow(usage);
    expect(() => checkTarget({ ...target, hostedZoneId: 'not-an-id!' })).toThrow(usage);
    expect(() => checkTarget({ ...target, kid: '' })).toThrow(usage);
    expect(() => checkTarget({ ...target, attributes: { tier: 'a b;' } })).toThrow(usage);
  });
});
