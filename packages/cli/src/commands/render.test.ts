import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { formatRecord, parseRecord } from '@nhi-dns/core';
import { parse as parseYaml } from 'yaml';
import { fakeAws, TARGET, ZONE_ID } from '../fake-aws.test-helper.js';
import { generateSigningKey, publicKeyFingerprint } from '../keys.js';
import { readTxtRecordSet } from '../route53-rrset.js';
import { formatTxtValue, parseTxtValue } from '../txt-presentation.js';
import { publish } from './publish.js';
import { checkRenderScope, parseRenderFormat, render, renderPublished } from './render.js';

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

describe('render over the published RRset (what publish would write)', () => {
  const SPF = '"v=spf1 -all"';
  const NOW_S = 1_800_000_000;

  /** A published key with attributes, exp and a certificate pin: all of which a merge must keep. */
  const publishedKey = async (kid: string) => {
    const key = await generateSigningKey('ed25519', kid);
    const pin = publicKeyFingerprint(await generateSigningKey('ed25519', 'pin'));
    const value = formatTxtValue(
      formatRecord({
        service: 'billing',
        environment: 'prod',
        kid,
        publicKey: key.publicKey,
        attributes: { tier: 'pci' },
        expiresAt: NOW_S + 3600,
        certThumbprint: pin,
      }),
    );
    return { key, pin, value };
  };

  const templateOf = (text: string) => JSON.parse(text).Resources.NhiIdentityBillingProd.Properties;

  it('keeps the other keys with their attributes, exp and pin, foreign values and the TTL, exactly as publish writes them', async () => {
    const aws = fakeAws();
    const other = await publishedKey('k0');
    aws.setTxt(NAME, [SPF, other.value], 60);
    const mine = await generateSigningKey('ed25519', 'k1');
    const published = await readTxtRecordSet(aws.route53, ZONE_ID, NAME);

    const rendered = templateOf(
      render({ ...base, format: 'cloudformation', keys: [mine], hostedZoneId: ZONE_ID, published }),
    );
    await publish({ ...TARGET, key: mine }, aws.deps);

    expect(rendered.ResourceRecords).toEqual(aws.txt(NAME));
    expect(rendered.TTL).toBe(String(aws.ttl(NAME)));
    expect(rendered.ResourceRecords.slice(0, 2)).toEqual([SPF, other.value]);
    expect(recordsOf(rendered.ResourceRecords.slice(1))).toEqual([
      {
        status: 'valid',
        record: expect.objectContaining({ kid: 'k0', expiresAt: NOW_S + 3600, certThumbprint: other.pin }),
      },
      // The new key takes the attributes the published keys agree on, as publish gives it.
      { status: 'valid', record: expect.objectContaining({ kid: 'k1', attributes: { tier: 'pci' } }) },
    ]);
  });

  it('renders a key already published as it stands (attributes, exp, pin), as a second publish changes nothing', async () => {
    const aws = fakeAws();
    const mine = await publishedKey('k1');
    aws.setTxt(NAME, [mine.value]);
    const published = await readTxtRecordSet(aws.route53, ZONE_ID, NAME);
    const text = render({ ...base, format: 'zonefile', keys: [mine.key], published });
    expect(text).toBe(`${NAME}.\t300\tIN\tTXT\t${mine.value}\n`);
    await expect(publish({ ...TARGET, key: mine.key }, aws.deps)).resolves.toMatchObject({
      status: 'unchanged',
    });
  });

  it('refuses what publish refuses: another key under a published kid, a key under a revoked kid', async () => {
    const aws = fakeAws();
    const mine = await publishedKey('k1');
    const revoked = formatTxtValue(
      formatRecord({ service: 'billing', environment: 'prod', kid: 'k2', publicKey: '' }),
    );
    aws.setTxt(NAME, [mine.value, revoked]);
    const published = await readTxtRecordSet(aws.route53, ZONE_ID, NAME);
    const impostor = await generateSigningKey('ed25519', 'k1');
    expect(() => render({ ...base, format: 'zonefile', keys: [impostor], published })).toThrow(
      expect.objectContaining({ reason: 'kid_conflict', exitCode: 4 }),
    );
    const reused = await generateSigningKey('ed25519', 'k2');
    expect(() => render({ ...base, format: 'zonefile', keys: [reused], published })).toThrow(
      expect.objectContaining({ reason: 'kid_revoked', exitCode: 4 }),
    );
  });

  it('refuses the published RRset of another name', async () => {
    const key = await generateSigningKey('ed25519', 'k1');
    const published = { name: 'ledger.prod.auth.example.com', exists: true, values: [SPF] };
    expect(() => render({ ...base, format: 'zonefile', keys: [key], published })).toThrow(
      expect.objectContaining({ exitCode: 2 }),
    );
  });

  it('renderPublished reads the RRset from Route 53 and says what it merged into', async () => {
    const aws = fakeAws();
    const other = await publishedKey('k0');
    aws.setTxt(NAME, [other.value]);
    const mine = await generateSigningKey('ed25519', 'k1');
    const text = await renderPublished(
      { ...base, format: 'zonefile', keys: [mine], hostedZoneId: ZONE_ID },
      aws.deps,
    );
    expect(text.trimEnd().split('\n')).toEqual([
      `${NAME}.\t300\tIN\tTXT\t${other.value}`,
      expect.stringContaining('kid=k1;'),
    ]);
    expect(aws.log).toEqual([`${NAME}: rendered over the 1 TXT values published there (TTL 300)`]);
  });

  it('renderPublished refuses bad options before reading Route 53', async () => {
    const aws = fakeAws();
    const key = await generateSigningKey('ed25519', 'k1');
    for (const bad of [
      { keys: [] },
      { keys: [{ ...key, kid: 'bad kid' }] },
      { keys: [key], logicalId: 'bad-id' },
      { keys: [key], environment: 'PROD' },
    ]) {
      await expect(
        renderPublished({ ...base, format: 'sam', hostedZoneId: ZONE_ID, ...bad }, aws.deps),
      ).rejects.toMatchObject({ exitCode: 2 });
    }
    expect(aws.route53Mock.commandCalls(ListResourceRecordSetsCommand)).toHaveLength(0);
  });

  it('checkRenderScope refuses a render that neither sees what is published nor replaces it', () => {
    expect(() => checkRenderScope({})).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringContaining('--replace') }),
    );
    expect(() => checkRenderScope({ hostedZoneId: ZONE_ID })).not.toThrow();
    expect(() => checkRenderScope({ replace: true })).not.toThrow();
  });
});
