/**
 * JSON schemas of the plugin's settings for Serverless's configuration validation
 * (`configSchemaHandler`), so that `nhi` keys are known properties. They describe shapes only;
 * `resolveConfig` checks the values and names the option in its errors.
 */

const intrinsic = { type: 'object', minProperties: 1, maxProperties: 1 } as const;
const stringList = { type: 'array', items: { type: 'string', minLength: 1 } } as const;
const publicKey = {
  type: 'object',
  properties: {
    kid: { type: 'string' },
    publicKey: { type: 'string' },
    keyType: { enum: ['ed25519', 'p256'] },
  },
  required: ['kid', 'publicKey'],
  additionalProperties: false,
} as const;

/** `custom.nhi`. */
export const CUSTOM_SCHEMA = {
  type: 'object',
  properties: {
    nhi: {
      type: 'object',
      properties: {
        zone: { type: 'string' },
        environment: { type: 'string' },
        recordOwner: { enum: ['cli', 'stack'] },
        hostedZoneId: { anyOf: [{ type: 'string' }, intrinsic] },
        recordTtl: { type: 'integer', minimum: 0 },
        dnsServers: stringList,
        alarms: {
          type: 'object',
          properties: {
            actions: { type: 'array', items: { anyOf: [{ type: 'string' }, intrinsic] } },
            authFailureThreshold: { type: 'number' },
            authFailurePeriod: { type: 'integer' },
            dnsMissStdDevs: { type: 'number' },
            dnsMissPeriod: { type: 'integer' },
            dnsMissEvaluationPeriods: { type: 'integer' },
            dnsMissCeiling: { type: 'number' },
          },
          additionalProperties: false,
        },
        dashboard: { type: 'boolean' },
        allowBroadSecretsGrant: { type: 'boolean' },
        rotationModule: { type: 'string' },
      },
      required: ['zone'],
      additionalProperties: false,
    },
  },
} as const;

/** `functions.<fn>.nhi`. */
export const FUNCTION_SCHEMA = {
  properties: {
    nhi: {
      type: 'object',
      properties: {
        identity: { type: 'string' },
        allow: stringList,
        secrets: stringList,
        sign: { anyOf: [{ type: 'boolean' }, { enum: ['kms'] }] },
        kmsKeyType: { enum: ['ed25519', 'p256'] },
        selfCheck: { type: 'boolean' },
        publicKey: { anyOf: [publicKey, { type: 'array', items: publicKey }] },
        publicKeyFile: { type: 'string' },
        attributes: { type: 'object', additionalProperties: { type: 'string' } },
        rotation: {
          type: 'object',
          properties: { days: { type: 'integer', minimum: 1, maximum: 1000 } },
          required: ['days'],
          additionalProperties: false,
        },
      },
      required: ['identity'],
      additionalProperties: false,
    },
  },
} as const;
