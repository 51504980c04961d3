// Test helper (excluded from the build): a stateful Route 53 RRset store and a Secrets Manager
// mock on aws-sdk-client-mock, so commands run end to end without AWS.
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type { CommandDeps } from './deps.js';

export const ZONE_ID = 'Z0123456789ABC';
export const NAME = 'billing.prod.auth.example.com';
export const TARGET = {
  service: 'billing',
  environment: 'prod',
  zone: 'auth.example.com',
  hostedZoneId: ZONE_ID,
} as const;
/** 2026-11-25T15:13:00Z */
export const NOW_MS = Date.UTC(2026, 10, 25, 15, 13, 0);

/** Route 53 and Secrets Manager fakes with the state they hold. */
export const fakeAws = () => {
  const route53 = new Route53Client({ region: 'us-east-1' });
  const secrets = new SecretsManagerClient({ region: 'eu-west-1' });
  const route53Mock = mockClient(route53);
  const secretsMock = mockClient(secrets);
  /** RRsets by `name.|TYPE`, in canonical order. */
  const rrsets = new Map<string, ResourceRecordSet>();
  /** Secret versions by name, oldest first, with their staging labels. */
  const secretValues = new Map<string, { id: string; value: string; stages: Set<string> }[]>();
  /** Tags by secret name. */
  const secretTags = new Map<string, Map<string, string>>();
  /** Route 53's default SOA at the apex of the hosted zone (negative TTL min(900, 86400) = 900). */
  rrsets.set('auth.example.com.|SOA', {
    Name: 'auth.example.com.',
    Type: 'SOA',
    TTL: 900,
    ResourceRecords: [
      { Value: 'ns-2048.awsdns-64.net. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400' },
    ],
  });
  /** Route 53's listing order: by name with the labels reversed, then by type. */
  const listingKey = (key: string) => {
    const [name = '', type = ''] = key.split('|');
    return `${name.split('.').reverse().join('\u0001')}\u0000${type}`;
  };
  const notFound = () =>
    Object.assign(new Error('not found'), { name: 'ResourceNotFoundException', $metadata: {} });
  /** Moves `stage` to `version`, as Secrets Manager does (labels are unique per secret). */
  const label = (versions: { stages: Set<string> }[], stage: string, version: { stages: Set<string> }) => {
    if (stage === 'AWSCURRENT') {
      const previous = versions.find((other) => other.stages.has('AWSCURRENT') && other !== version);
      if (previous !== undefined) label(versions, 'AWSPREVIOUS', previous);
    }
    for (const other of versions) other.stages.delete(stage);
    version.stages.add(stage);
  };
  /** Faults to throw once, at the first call of a command whose input matches. */
  const faults: { command: string; when: (input: Record<string, unknown>) => boolean; error: Error }[] = [];
  const injectFault = (command: string, input: Record<string, unknown>) => {
    const index = faults.findIndex((fault) => fault.command === command && fault.when(input));
    if (index === -1) return;
    const [fault] = faults.splice(index, 1);
    if (fault !== undefined) throw fault.error;
  };
  let changes = 0;
  /** What happened, in order: AWS writes, `GetChange` polls and `sleep(ms)` calls. */
  const events: string[] = [];

  route53Mock.on(ListResourceRecordSetsCommand).callsFake((input) => {
    if (input.StartRecordName === undefined) {
      const [first] = [...rrsets.keys()].sort((a, b) => (listingKey(a) < listingKey(b) ? -1 : 1));
      return { ResourceRecordSets: first === undefined ? [] : [rrsets.get(first)], IsTruncated: false };
    }
    const keys = [...rrsets.keys()].sort();
    const start = `${input.StartRecordName}.|${input.StartRecordType}`;
    const first = keys.find((key) => key >= start);
    return { ResourceRecordSets: first === undefined ? [] : [rrsets.get(first)], IsTruncated: false };
  });
  route53Mock.on(ChangeResourceRecordSetsCommand).callsFake((input) => {
    for (const change of input.ChangeBatch.Changes) {
      const set = change.ResourceRecordSet;
      const key = `${set.Name}|${set.Type}`;
      if (change.Action === 'DELETE') rrsets.delete(key);
      else rrsets.set(key, structuredClone(set));
    }
    changes += 1;
    events.push(`ChangeResourceRecordSets C${changes}`);
    return { ChangeInfo: { Id: `/change/C${changes}`, Status: 'PENDING', SubmittedAt: new Date() } };
  });
  route53Mock.on(GetChangeCommand).callsFake(() => {
    events.push('GetChange INSYNC');
    return { ChangeInfo: { Id: '/change/C', Status: 'INSYNC', SubmittedAt: new Date() } };
  });

  secretsMock.on(CreateSecretCommand).callsFake((input) => {
    if (secretValues.has(input.Name)) {
      throw Object.assign(new Error('exists'), { name: 'ResourceExistsException', $metadata: {} });
    }
    const id = input.ClientRequestToken ?? 'v1';
    secretValues.set(input.Name, [{ id, value: input.SecretString, stages: new Set(['AWSCURRENT']) }]);
    secretTags.set(
      input.Name,
      new Map((input.Tags ?? []).map((tag: { Key: string; Value: string }) => [tag.Key, tag.Value])),
    );
    events.push('CreateSecret');
    return { ARN: `arn:aws:secretsmanager:eu-west-1:1:secret:${input.Name}`, VersionId: id };
  });
  secretsMock.on(PutSecretValueCommand).callsFake((input) => {
    injectFault('PutSecretValue', input);
    const versions = secretValues.get(input.SecretId);
    if (versions === undefined) throw notFound();
    const version = {
      id: input.ClientRequestToken ?? `v${versions.length + 1}`,
      value: input.SecretString,
      stages: new Set<string>(),
    };
    versions.push(version);
    for (const stage of input.VersionStages ?? ['AWSCURRENT']) label(versions, stage, version);
    events.push(`PutSecretValue ${[...version.stages].join(',')}`);
    return { VersionId: version.id };
  });
  secretsMock.on(UpdateSecretVersionStageCommand).callsFake((input) => {
    injectFault('UpdateSecretVersionStage', input);
    const versions = secretValues.get(input.SecretId);
    if (versions === undefined) throw notFound();
    const target = versions.find((version) => version.id === input.MoveToVersionId);
    // Moving AWSCURRENT moves AWSPREVIOUS onto the version it left, as Secrets Manager does.
    if (target !== undefined) label(versions, input.VersionStage, target);
    if (input.RemoveFromVersionId !== undefined && input.RemoveFromVersionId !== input.MoveToVersionId) {
      versions.find((version) => version.id === input.RemoveFromVersionId)?.stages.delete(input.VersionStage);
    }
    events.push(
      `UpdateSecretVersionStage ${input.MoveToVersionId === undefined ? '-' : '+'}${input.VersionStage}`,
    );
    return {};
  });
  secretsMock.on(TagResourceCommand).callsFake((input) => {
    injectFault('TagResource', input);
    if (!secretValues.has(input.SecretId)) throw notFound();
    const tags = secretTags.get(input.SecretId) ?? new Map<string, string>();
    for (const tag of input.Tags ?? []) tags.set(tag.Key, tag.Value);
    secretTags.set(input.SecretId, tags);
    events.push(`TagResource ${(input.Tags ?? []).map((tag: { Key: string }) => tag.Key).join(',')}`);
    return {};
  });
  secretsMock.on(DescribeSecretCommand).callsFake((input) => {
    const versions = secretValues.get(input.SecretId);
    if (versions === undefined) throw notFound();
    return {
      Name: input.SecretId,
      Tags: [...(secretTags.get(input.SecretId) ?? new Map()).entries()].map(([Key, Value]) => ({
        Key,
        Value,
      })),
      VersionIdsToStages: Object.fromEntries(versions.map((version) => [version.id, [...version.stages]])),
    };
  });
  secretsMock.on(GetSecretValueCommand).callsFake((input) => {
    const stage = input.VersionStage ?? 'AWSCURRENT';
    const version = secretValues.get(input.SecretId)?.find((candidate) => candidate.stages.has(stage));
    if (version === undefined) throw notFound();
    return { SecretString: version.value, VersionId: version.id, CreatedDate: new Date(NOW_MS) };
  });
  const log: string[] = [];
  let now = NOW_MS;
  const deps: CommandDeps = {
    route53,
    secrets,
    now: () => now,
    sleep: async (ms) => {
      events.push(`sleep ${ms}`);
    },
    log: (line) => {
      log.push(line);
    },
  };
  return {
    route53,
    secrets,
    route53Mock,
    secretsMock,
    deps,
    log,
    events,
    setNow: (ms: number) => {
      now = ms;
    },
    /** Puts an RRset as Route 53 would hold it. */
    setTxt: (name: string, values: string[], ttl = 300) => {
      rrsets.set(`${name}.|TXT`, {
        Name: `${name}.`,
        Type: 'TXT',
        TTL: ttl,
        ResourceRecords: values.map((Value) => ({ Value })),
      });
    },
    /** Values of the TXT RRset at `name`, or undefined. */
    txt: (name: string) => rrsets.get(`${name}.|TXT`)?.ResourceRecords?.map((rr) => rr.Value ?? ''),
    ttl: (name: string) => rrsets.get(`${name}.|TXT`)?.TTL,
    setOther: (set: ResourceRecordSet) => {
      rrsets.set(`${set.Name}|${set.Type}`, set);
    },
    /** Staging labels of every version of a secret, oldest first (`[]`: a version left unlabelled). */
    secretStages: (name: string) =>
      (secretValues.get(name) ?? []).map((version) => [...version.stages].sort()),
    /** Values of every version of a secret, oldest first. */
    secretVersions: (name: string) => (secretValues.get(name) ?? []).map((version) => version.value),
    /** Tags of a secret. */
    secretTags: (name: string) => Object.fromEntries(secretTags.get(name) ?? new Map<string, string>()),
    /** Replaces the SOA at the apex (`auth.example.com.`), e.g. `setSoa(3600, 300)`. */
    setSoa: (ttl: number, minimum: number) => {
      rrsets.set('auth.example.com.|SOA', {
        Name: 'auth.example.com.',
        Type: 'SOA',
        TTL: ttl,
        ResourceRecords: [
          { Value: `ns-2048.awsdns-64.net. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 ${minimum}` },
        ],
      });
    },
    /** Value of the version of a secret that carries `stage`, or undefined. */
    secretAt: (name: string, stage: string) =>
      secretValues.get(name)?.find((version) => version.stages.has(stage))?.value,
    /** Puts a secret as Secrets Manager would hold it: one current version, no tags (as a CLI without marks left it). */
    setSecret: (name: string, value: string) => {
      secretValues.set(name, [{ id: 'v1', value, stages: new Set(['AWSCURRENT']) }]);
    },
    /**
     * What a principal with only `secretsmanager:PutSecretValue` can do: add a version (made
     * `AWSCURRENT` unless `stages` says otherwise), without touching the tags.
     */
    putSecretValue: (name: string, value: string, stages: string[] = ['AWSCURRENT']) => {
      const versions = secretValues.get(name);
      if (versions === undefined) throw notFound();
      const version = { id: `planted${versions.length + 1}`, value, stages: new Set<string>() };
      versions.push(version);
      for (const stage of stages) label(versions, stage, version);
      return version.id;
    },
    /**
     * Makes the next `command` (`PutSecretValue`, `UpdateSecretVersionStage`, `TagResource`) whose
     * input matches `when` fail once with `error`; later calls behave as before.
     */
    failOnce: (command: string, when: (input: Record<string, unknown>) => boolean, error: Error) => {
      faults.push({ command, when, error });
    },
    changeCalls: () => route53Mock.commandCalls(ChangeResourceRecordSetsCommand).length,
    secretWrites: () =>
      secretsMock.commandCalls(CreateSecretCommand).length +
      secretsMock.commandCalls(PutSecretValueCommand).length +
      secretsMock.commandCalls(UpdateSecretVersionStageCommand).length +
      secretsMock.commandCalls(TagResourceCommand).length,
  };
};
