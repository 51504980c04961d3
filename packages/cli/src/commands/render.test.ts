import { parseRecord } from '@nhi-dns/core';
import { parse as parseYaml } from 'yaml';
import { generateSigningKey } from '../keys.js';
import { parseTxtValue } from '../txt-presentation.js';
import { parseRenderFormat, render } from './render.js';

const NAME = 'billing.prod.auth.example.com';
const base = { service: 'billing', environment: 'prod', zone: 'auth.example.com' };

const recordsOf = (values: string[]) => values.map((value) => parseRecord(parseTxtValue(value) ?? [], NAME));

describe('render', () => {
  it('renders SAM YAML whose TXT values parse back into the keys', async () => {
    const key = await generateSigningKey('p256', 'k1');
    const yaml = render({
      ...base,
      format: 'sam',
      keys: [key],
      attributes: { tier: 'pci' },
      hostedZoneId: '/hostedzone/Z1',
    });
    const template = parseYaml(yaml);
    const resource = template.Resources.NhiIdentityBillingProd;
    expect(resource.Type).toBe('AWS::Route53::RecordSet');
    expect(resource.Properties).toMatchObject({
      HostedZoneId: 'Z1',
      Name: `${NAME}.`,
      Type: 'TXT',
      TTL: '300',
    });
    expect(recordsOf(resource.Properties.ResourceRecords)).toEqual([
      {
        status: 'valid',
        record: expect.objectContaining({ kid: 'k1', keyType: 'p256', publicKey: key.publicKey }),
      },
    ]);
  });

  it('renders CloudFormation JSON with HostedZoneName by default and one RR per key', async () => {
    const keys = [await generateSigningKey('ed25519', 'a'), await generateSigningKey('ed25519', 'b')];
    const template = JSON.parse(
      render({ ...base, format: 'cloudformation', keys, ttl: 60, logicalId: 'Id' }),
    );
    expect(template.Resources.Id.Properties).toMatchObject({
      HostedZoneName: 'auth.example.com.',
      TTL: '60',
    });
    expect(recordsOf(template.Resources.Id.Properties.ResourceRecords).map((r) => r.status)).toEqual([
      'valid',
      'valid',
    ]);
  });

  it('renders zone-file lines', async () => {
    const key = await generateSigningKey('ed25519', 'a');
    const text = render({ ...base, format: 'zonefile', keys: [key] });
    expect(text).toBe(
      `${NAME}.\t300\tIN\tTXT\t"v=NHI1; svc=billing; env=prod; kid=a; k=ed25519; p=${key.publicKey}"\n`,
    );
  });

  it('refuses two different keys under one kid as publish does (kid_conflict, exit code 4)', async () => {
    const a = await generateSigningKey('ed25519', 'k1');
    const b = await generateSigningKey('ed25519', 'k1');
    expect(() => render({ ...base, format: 'zonefile', keys: [a, b] })).toThrow(
      expect.objectContaining({ reason: 'kid_conflict', exitCode: 4 }),
    );
    // The same key twice is one RR, as publishing it twice is: never an RRset verifiers reject.
    const text = render({ ...base, format: 'zonefile', keys: [a, a] });
    expect(text.trimEnd().split('\n')).toHaveLength(1);
  });

  it('rejects bad input with usage errors', async () => {
    const key = await generateSigningKey('ed25519', 'a');
    expect(() => render({ ...base, format: 'sam', keys: [] })).toThrow(
      expect.objectContaining({ exitCode: 2 }),
    );
    expect(() => render({ ...base, format: 'sam', keys: [key], logicalId: 'bad-id' })).toThrow(
      expect.objectContaining({ exitCode: 2 }),
    );
    expect(() => parseRenderFormat('terraform')).toThrow(expect.objectContaining({ exitCode: 2 }));
    expect(() => render({ ...base, service: 'Bad_Label', format: 'sam', keys: [key] })).toThrow(
      expect.objectContaining({ reason: 'invalid_name' }),
    );
    // Upper case is refused, not folded: the record would say env=PROD, the name prod.
    expect(() => render({ ...base, environment: 'PROD', format: 'sam', keys: [key] })).toThrow(
      expect.objectContaining({ reason: 'invalid_name', exitCode: 2 }),
    );
    expect(() => render({ ...base, format: 'sam', keys: [key], hostedZoneId: 'not-an-id!' })).toThrow(
      expect.objectContaining({ exitCode: 2 }),
    );
    expect(() => render({ ...base, format: 'sam', keys: [{ ...key, kid: 'bad kid' }] })).toThrow(
      expect.objectContaining({ exitCode: 2 }),
    );
  });
});
