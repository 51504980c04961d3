// Warm-path cost of secrets-inject: a middy handler with only this middleware (secrets cached)
// against the same handler with no middleware, same process. Run: see ../README.md (Benchmark).
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { secretsInject } from '../src/index.js';

const INVOCATIONS = Number(process.env.BENCH_INVOCATIONS ?? 20_000);
const WARMUP = 2_000;

/** Answers every call from memory: only the first (cold) invocation reaches it. */
const client = {
  send: async (command: { input: { SecretIdList?: string[]; SecretId?: string } }) =>
    command.input.SecretIdList === undefined
      ? { SecretString: 'value', VersionId: 'v1', RotationEnabled: false }
      : {
          SecretValues: command.input.SecretIdList.map((Name) => ({
            Name,
            SecretString: '{"u":"a","p":"b"}',
          })),
        },
} as unknown as SecretsManagerClient;

const context = { getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
const base = async (_event: unknown, ctx: Context) => (ctx as unknown as { secrets?: unknown }).secrets ?? 1;

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const measure = async (handler: (event: unknown, context: Context) => Promise<unknown>) => {
  for (let index = 0; index < WARMUP; index += 1) await handler({}, context);
  const samples: number[] = new Array(INVOCATIONS);
  for (let index = 0; index < INVOCATIONS; index += 1) {
    const started = process.hrtime.bigint();
    await handler({}, context);
    samples[index] = Number(process.hrtime.bigint() - started) / 1000;
  }
  return median(samples);
};

const plain = middy().handler(base);
const withSecrets = (count: number) =>
  middy()
    .use(
      secretsInject({
        secrets: Object.fromEntries(
          Array.from({ length: count }, (_, index) => [`s${index}`, `secret${index}`]),
        ),
        namespace: '/prod/',
        client,
        prefetch: false,
      }),
    )
    .handler(base);

const results: Record<string, number> = {};
// Interleave rounds so that drift in the machine's load hits both sides alike.
for (let round = 0; round < 3; round += 1) {
  for (const [name, handler] of [
    ['no middleware', plain],
    ['secrets-inject, 1 secret', withSecrets(1)],
    ['secrets-inject, 5 secrets', withSecrets(5)],
  ] as const) {
    const value = await measure(handler);
    results[name] = Math.min(results[name] ?? Number.POSITIVE_INFINITY, value);
  }
}
const baseline = results['no middleware']!;
for (const [name, value] of Object.entries(results)) {
  console.log(
    `${name.padEnd(28)} median ${value.toFixed(2)} µs/invocation  (+${(value - baseline).toFixed(2)} µs, x${(value / baseline).toFixed(2)})`,
  );
}
console.log(`node ${process.version}, ${INVOCATIONS} invocations per round, best of 3 rounds`);
