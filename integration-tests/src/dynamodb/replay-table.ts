/**
 * The replay table exactly as examples/template.yaml declares it: the `ReplayTable` resource's
 * properties become the CreateTable call (key schema, attribute definitions, billing mode) and
 * the UpdateTimeToLive call CloudFormation makes after it (TimeToLiveSpecification). A property
 * this file cannot reproduce fails the setup instead of being dropped silently.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AttributeDefinition,
  type BillingMode,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type KeySchemaElement,
  type TimeToLiveSpecification,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { parse, type ScalarTag } from 'yaml';

/** Logical id of the replay table in examples/template.yaml. */
export const REPLAY_TABLE_RESOURCE = 'ReplayTable';

/** The template, relative to the repository root. */
const TEMPLATE = 'examples/template.yaml';

/** The template's path: the nearest folder up from this module that holds it (from the sources and from a bundle in .tmp/). */
export const templatePath = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, TEMPLATE))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`${TEMPLATE} not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return join(dir, TEMPLATE);
};

/** CloudFormation short-form intrinsics (scalar, sequence and mapping forms), read as their long form. */
const INTRINSICS = [
  'Ref',
  'Sub',
  'GetAtt',
  'Join',
  'Select',
  'Split',
  'If',
  'Not',
  'Equals',
  'And',
  'Or',
  'Condition',
  'FindInMap',
  'ImportValue',
  'Base64',
  'Cidr',
  'GetAZs',
];
const customTags = INTRINSICS.flatMap((name) => {
  const fn = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  return [undefined, 'seq', 'map'].map(
    (collection) =>
      ({
        tag: `!${name}`,
        ...(collection === undefined ? {} : { collection }),
        resolve: (value: unknown) => ({ [fn]: value }),
      }) as unknown as ScalarTag,
  );
});

/** What the template asks of DynamoDB for the replay table. */
export interface ReplayTableDefinition {
  readonly attributeDefinitions: AttributeDefinition[];
  readonly keySchema: KeySchemaElement[];
  readonly billingMode: BillingMode;
  readonly timeToLive: TimeToLiveSpecification;
}

const MAPPED = new Set(['AttributeDefinitions', 'KeySchema', 'BillingMode', 'TimeToLiveSpecification']);

/** Reads the `ReplayTable` resource of examples/template.yaml. */
export const replayTableFromTemplate = (
  text = readFileSync(templatePath(), 'utf8'),
): ReplayTableDefinition => {
  const template = parse(text, { customTags }) as {
    Resources?: Record<string, { Type?: string; Properties?: Record<string, unknown> }>;
  };
  const resource = template.Resources?.[REPLAY_TABLE_RESOURCE];
  if (resource?.Type !== 'AWS::DynamoDB::Table' || resource.Properties === undefined) {
    throw new Error(`examples/template.yaml has no AWS::DynamoDB::Table ${REPLAY_TABLE_RESOURCE}`);
  }
  const properties = resource.Properties;
  const unmapped = Object.keys(properties).filter((name) => !MAPPED.has(name));
  if (unmapped.length > 0) {
    throw new Error(`${REPLAY_TABLE_RESOURCE}: properties not reproduced here: ${unmapped.join(', ')}`);
  }
  return {
    attributeDefinitions: properties.AttributeDefinitions as AttributeDefinition[],
    keySchema: properties.KeySchema as KeySchemaElement[],
    billingMode: properties.BillingMode as BillingMode,
    timeToLive: properties.TimeToLiveSpecification as TimeToLiveSpecification,
  };
};

/** What {@link createReplayTable} did, and what the engine refused. */
export interface CreatedReplayTable {
  readonly tableName: string;
  readonly definition: ReplayTableDefinition;
  /** `applied`, or the error name the engine answered UpdateTimeToLive with. */
  readonly timeToLive: 'applied' | string;
}

/**
 * Creates the table with the template's parameters, waits until it is ACTIVE, then enables TTL
 * as CloudFormation does (UpdateTimeToLive). An engine without UpdateTimeToLive (dynalite) is
 * recorded in `timeToLive`, not hidden; any other failure throws.
 */
export const createReplayTable = async (
  client: DynamoDBClient,
  tableName: string,
  definition = replayTableFromTemplate(),
): Promise<CreatedReplayTable> => {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: definition.attributeDefinitions,
      KeySchema: definition.keySchema,
      BillingMode: definition.billingMode,
    }),
  );
  for (let tries = 0; ; tries++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
    if (tries >= 100) throw new Error(`table ${tableName} still ${Table?.TableStatus} after 5 s`);
    await new Promise((resume) => setTimeout(resume, 50));
  }
  let timeToLive: string;
  try {
    await client.send(
      new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: definition.timeToLive }),
    );
    timeToLive = 'applied';
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'UnknownOperationException') throw error;
    timeToLive = error.name;
  }
  return { tableName, definition, timeToLive };
};
