import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey, render } from '@nhi-dns/cli';
import { formatRecord, NhiError } from '@nhi-dns/core';
import { readPublicKeyFile } from './key-file.js';

const NAME = 'reports.prod.auth.example.com';
const target = { service: 'reports', environment: 'prod', zone: 'auth.example.com' } as const;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nhi-keyfile-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text);
  return name;
};
const read = (name: string) => readPublicKeyFile('functions.reports.nhi.publicKeyFile', name, dir, NAME);
const refusal = (name: string): string => {
  try {
    read(name);
  } catch (error) {
    expect(error).toBeInstanceOf(NhiError);
    expect((error as NhiError).reason).toBe('invalid_config');
    return (error as Error).message;
  }
  throw new Error('the file was accepted');
};

describe('readPublicKeyFile', () => {
  it('reads what nhi-dns render prints, in every format it can, with the attributes', async () => {
    const p256 = await generateSigningKey('p256', 'k2026-11');
    const ed25519 = await generateSigningKey('ed25519', 'k2026-12');
    const keys = [p256, ed25519].map(({ kid, keyType, publicKey }) => ({ kid, keyType, publicKey }));
    const attributes = { tier: 'internal', owner: 'a-team-with-a-name-long-enough-to-split-the-p256-record' };
    const expected = { keys, attributes };
    for (const format of ['cloudformation', 'zonefile'] as const) {
      const text = render({ ...target, format, keys, attributes });
      expect(read(file(`render.${format}`, text))).toEqual(expected);
      expect(read(file(`render-json.${format}`, JSON.stringify({ format, text })))).toEqual(expected);
    }
  });

  it('reads the JSON of nhi-dns keygen --json (one key, or a list)', () => {
    const keygen = {
      kid: 'k20261201T000000Z',
      keyType: 'ed25519',
      publicKey: '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=',
      secretName: '/prod/nhi/reports/signing-key',
      propagationWaitSeconds: 0,
      record: { name: NAME, status: 'INSYNC' },
    };
    const key = { kid: keygen.kid, keyType: 'ed25519', publicKey: keygen.publicKey };
    expect(read(file('keygen.json', JSON.stringify(keygen)))).toEqual({ keys: [key] });
    expect(read(file('keygen-list.json', JSON.stringify([keygen, { ...keygen, kid: 'k2' }])))).toEqual({
      keys: [key, { ...key, kid: 'k2' }],
    });
  });

  it.each([
    ['a missing file', undefined, 'a readable file (ENOENT'],
    [
      'a private JWK',
      '{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"x","kid":"k"}',
      'holds a private JWK member "d"',
    ],
    ['broken JSON', '{"kid": ', 'valid JSON'],
    [
      'a record of another identity',
      render({
        ...target,
        service: 'billing',
        format: 'zonefile',
        keys: [{ kid: 'k1', keyType: 'ed25519', publicKey: '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=' }],
      }),
      `every line must be for ${NAME}.`,
    ],
    [
      'a CloudFormation template without the record',
      JSON.stringify({ Resources: {} }),
      'exactly one TXT AWS::Route53::RecordSet',
    ],
    [
      'an invalid NHI1 RR',
      `${NAME}. 300 IN TXT "v=NHI1; svc=reports; env=prod; kid=k1; kid=k2; p="`,
      'RR 1 is not a valid NHI1 record (duplicate_tag',
    ],
    [
      'a key with exp=',
      `${NAME}. 300 IN TXT "${formatRecord({ ...target, kid: 'k1', publicKey: '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=', expiresAt: 1 })}"`,
      'kid k1 carries exp=',
    ],
    [
      'SAM render output',
      JSON.stringify({ format: 'sam', text: 'Resources: {}' }),
      'use --format cloudformation or zonefile',
    ],
    ['something else', 'hello', 'a zone-file TXT line'],
  ])('refuses %s, naming the option and the file', (_, text, message) => {
    const name = text === undefined ? 'missing.json' : file(`bad-${Math.random()}`, text);
    const refused = refusal(name);
    expect(refused).toContain(`functions.reports.nhi.publicKeyFile "${name}"`);
    expect(refused).toContain(message);
  });
});
