import { ChangeResourceRecordSetsCommand, GetChangeCommand } from '@aws-sdk/client-route-53';
import { formatRecord, parseRecord } from '@nhi-dns/core';
import { fakeAws, NAME, ZONE_ID } from './fake-aws.test-helper.js';
import {
  buildChangeBatch,
  classifyValues,
  mergeKeys,
  normalizeHostedZoneId,
  readTxtRecordSet,
  recordInput,
  sameRecordSet,
  submitChange,
} from './route53-rrset.js';
import { formatTxtValue } from './txt-presentation.js';

const KEY_A = Buffer.alloc(32, 1).toString('base64');
const KEY_B = Buffer.alloc(32, 2).toString('base64');
const input = (kid: string, publicKey: string) => ({
  service: 'billing',
  environment: 'prod',
  kid,
  publicKey,
});
const value = (kid: string, publicKey: string) => formatTxtValue(formatRecord(input(kid, publicKey)));
const SPF = '"v=spf1 -all"';
const VERIFICATION = '"google-site-verification=abc\\"def"';

describe('readTxtRecordSet', () => {
  it('reads the TXT RRset at the name', async () => {
    const aws = fakeAws();
    aws.setTxt(NAME, [SPF], 120);
    await expect(
      readTxtRecordSet(aws.route53, `/hostedzone/${ZONE_ID}`, `${NAME.toUpperCase()}.`),
    ).resolves.toEqual({
      name: NAME,
      exists: true,
      ttl: 120,
      values: [SPF],
    });
  });

  it('treats the next RRset in the listing (another name or type) as no RRset', async () => {
    const aws = fakeAws();
    aws.setTxt(`zeta.prod.auth.example.com`, [SPF]);
    await expect(readTxtRecordSet(aws.route53, ZONE_ID, NAME)).resolves.toMatchObject({
      exists: false,
      values: [],
    });
    aws.setOther({ Name: `${NAME}.`, Type: 'TXTX' as never, TTL: 1, ResourceRecords: [] });
    await expect(readTxtRecordSet(aws.route53, ZONE_ID, NAME)).resolves.toMatchObject({ exists: false });
  });

  it('refuses RRsets with a routing policy', async () => {
    const aws = fakeAws();
    aws.setOther({
      Name: `${NAME}.`,
      Type: 'TXT',
      SetIdentifier: 'eu',
      Weight: 1,
      TTL: 1,
      ResourceRecords: [],
    });
    await expect(readTxtRecordSet(aws.route53, ZONE_ID, NAME)).rejects.toMatchObject({
      reason: 'unsupported_rrset',
    });
  });

  it('asks for one RRset starting at the name and type', async () => {
    const aws = fakeAws();
    await readTxtRecordSet(aws.route53, ZONE_ID, NAME);
    expect(aws.route53Mock.calls()[0]?.args[0].input).toEqual({
      HostedZoneId: ZONE_ID,
      StartRecordName: NAME,
      StartRecordType: 'TXT',
      MaxItems: 1,
    });
  });
});

describe('recordInput', () => {
  it('carries everything a key RR states when it is written again (exp, pin, custody, attributes)', () => {
    const text = formatRecord({
      ...input('k1', KEY_A),
      expiresAt: 1_900_000_000,
      certThumbprint: Buffer.alloc(32, 9).toString('base64url'),
      keyCustody: 'kms',
      attributes: { tier: 'pci' },
    });
    const parsed = parseRecord(text, NAME);
    if (parsed.status !== 'valid') throw new Error('test record invalid');
    expect(formatRecord(recordInput(parsed.record))).toBe(text);
  });
});

describe('mergeKeys', () => {
  it('keeps foreign TXT values and other keys untouched, replaces by kid, appends new keys', () => {
    const existing = [SPF, value('a', KEY_A), VERIFICATION, '"v=NHI1; svc=other; env=prod; kid=x; p="'];
    const merged = mergeKeys(NAME, existing, {
      put: [{ ...input('a', KEY_A), attributes: { tier: 'pci' } }, input('b', KEY_B)],
    });
    expect(merged[0]).toBe(SPF);
    expect(merged[1]).toBe(value('a', KEY_A).replace(/"$/, '; x-tier=pci"'));
    expect(merged.slice(2, 4)).toEqual(existing.slice(2, 4));
    expect(merged[4]).toBe(value('b', KEY_B));
    expect(merged).toHaveLength(5);
  });

  it('keeps the exact presentation of an unchanged key (idempotent)', () => {
    // Route 53 may split differently from us; equal content must not count as a change.
    const text = formatRecord(input('a', KEY_A));
    const oddlySplit = `"${text.slice(0, 10)}" "${text.slice(10)}"`;
    const merged = mergeKeys(NAME, [oddlySplit], { put: [input('a', KEY_A)] });
    expect(merged).toEqual([oddlySplit]);
    expect(sameRecordSet({ exists: true, ttl: 300, values: [oddlySplit] }, merged, 300)).toBe(true);
  });

  it('removes keys by kid and nothing else', () => {
    expect(mergeKeys(NAME, [SPF, value('a', KEY_A), value('b', KEY_B)], { remove: ['a'] })).toEqual([
      SPF,
      value('b', KEY_B),
    ]);
  });

  it('classifies malformed foreign values as foreign', () => {
    expect(
      classifyValues(NAME, ['"unterminated', value('a', KEY_A)]).map((entry) => entry.record?.kid),
    ).toEqual([undefined, 'a']);
  });
});

describe('sameRecordSet', () => {
  it('compares values regardless of order, and the TTL', () => {
    const current = { exists: true, ttl: 300, values: ['"a"', '"b"'] };
    expect(sameRecordSet(current, ['"b"', '"a"'], 300)).toBe(true);
    expect(sameRecordSet(current, ['"b"', '"a"'], 60)).toBe(false);
    expect(sameRecordSet(current, ['"a"'], 300)).toBe(false);
    expect(sameRecordSet({ exists: false, values: [] }, ['"a"'], 300)).toBe(false);
  });
});

describe('buildChangeBatch', () => {
  it('UPSERTs the whole RRset with a trailing-dot name', () => {
    expect(buildChangeBatch(NAME, 300, [SPF], 'c')).toEqual({
      Comment: 'c',
      Changes: [
        {
          Action: 'UPSERT',
          ResourceRecordSet: { Name: `${NAME}.`, Type: 'TXT', TTL: 300, ResourceRecords: [{ Value: SPF }] },
        },
      ],
    });
  });

  it('refuses an empty RRset', () => {
    expect(() => buildChangeBatch(NAME, 300, [], 'c')).toThrow(
      expect.objectContaining({ reason: 'would_empty' }),
    );
  });
});

describe('submitChange', () => {
  const changeBatch = buildChangeBatch(NAME, 300, [SPF], 'c');

  it('waits until the change is INSYNC', async () => {
    const aws = fakeAws();
    aws.route53Mock
      .on(GetChangeCommand)
      .resolvesOnce({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } })
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });
    await expect(
      submitChange({
        route53: aws.route53,
        hostedZoneId: ZONE_ID,
        changeBatch,
        pollMinDelaySeconds: 0.01,
        pollMaxDelaySeconds: 0.01,
      }),
    ).resolves.toEqual({ changeId: '/change/C1', status: 'INSYNC' });
    expect(aws.route53Mock.commandCalls(GetChangeCommand)).toHaveLength(2);
  });

  it('fails with change_not_insync (exit code 3) when the wait times out', async () => {
    const aws = fakeAws();
    aws.route53Mock
      .on(GetChangeCommand)
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } });
    await expect(
      submitChange({
        route53: aws.route53,
        hostedZoneId: ZONE_ID,
        changeBatch,
        waitTimeoutSeconds: 0.2,
        pollMinDelaySeconds: 0.02,
        pollMaxDelaySeconds: 0.05,
      }),
    ).rejects.toMatchObject({ reason: 'change_not_insync', exitCode: 3 });
  });

  it('does not wait with a zero timeout', async () => {
    const aws = fakeAws();
    await expect(
      submitChange({ route53: aws.route53, hostedZoneId: ZONE_ID, changeBatch, waitTimeoutSeconds: 0 }),
    ).resolves.toEqual({ changeId: '/change/C1', status: 'PENDING' });
    expect(aws.route53Mock.commandCalls(GetChangeCommand)).toHaveLength(0);
  });

  it('retries Throttling and PriorRequestNotComplete, then submits once', async () => {
    const aws = fakeAws();
    const error = (name: string) => Object.assign(new Error(name), { name, $metadata: {} });
    aws.route53Mock
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(error('Throttling'))
      .rejectsOnce(error('PriorRequestNotComplete'))
      .resolves({ ChangeInfo: { Id: '/change/C9', Status: 'INSYNC', SubmittedAt: new Date() } });
    const delays: number[] = [];
    await expect(
      submitChange({
        route53: aws.route53,
        hostedZoneId: `/hostedzone/${ZONE_ID}`,
        changeBatch,
        retry: { sleep: async (ms) => void delays.push(ms) },
      }),
    ).resolves.toEqual({ changeId: '/change/C9', status: 'INSYNC' });
    expect(aws.route53Mock.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(3);
    expect(delays).toHaveLength(2);
  });

  it('normalizes hosted zone ids', () => {
    expect(normalizeHostedZoneId('/hostedzone/Z1')).toBe('Z1');
    expect(normalizeHostedZoneId('hostedzone/Z1')).toBe('Z1');
    expect(normalizeHostedZoneId('Z1')).toBe('Z1');
  });
});
