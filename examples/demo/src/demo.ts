/**
 * `npm run demo`: the whole product on an embedded default. An in-process DNS server serves a
 * demo zone, a loopback stand-in serves Secrets Manager, and the example callee handler (the
 * same code that is bundled for Lambda) is driven through the cases that matter, directly and,
 * from the example caller (identity-sign), through a loopback HTTP API and Lambda Invoke
 * endpoint. Prints a table of outcomes and the CloudWatch EMF metric lines the middlewares emitted.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { captureOutput, createTestIdentity } from '@nhi-dns/core/test-support';
import { createResolver } from '@nhi-dns/resolver';
import { startTestDnsServer } from '@nhi-dns/resolver/test-support';
import type { Context } from 'aws-lambda';
import { type CallerHandler, createCallerHandler } from '../../caller/src/caller.js';
import { createCalleeHandler } from '../../http-api-callee/src/callee.js';
import { paymentEvent } from '../../http-api-callee/src/payment-event.js';
import { createSelfCheckHandler } from '../../self-check/src/self-check.js';
import { createConsumerHandler } from '../../sqs-consumer/src/consumer.js';
import { sqsEvent, sqsRecord } from '../../sqs-consumer/src/sqs-event.js';
import { startLocalLedger, tlsTerminatedFetch } from './local-ledger.js';
import { startLocalSecretsManager } from './local-secrets-manager.js';

// The SDK warns that Node 20 support ends in 2027; Lambda runs the functions on Node 22/24, and
// the warning would only clutter the demo's table on a developer's Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ZONE = 'auth.example.com';
const LEDGER = `ledger.prod.${ZONE}`;
const TTL = 1; // seconds: short, so that revocations show within the demo

const billing = createTestIdentity(`billing.prod.${ZONE}`, { kid: 'k2026-11', attributes: { tier: 'pci' } });
const reports = createTestIdentity(`reports.prod.${ZONE}`, { kid: 'r1' });
const payroll = createTestIdentity(`payroll.dev.${ZONE}`, { kid: 'p1', keyType: 'p256' });
const ghost = createTestIdentity(`ghost.prod.${ZONE}`);

const lambdaContext = {
  functionName: 'ledger',
  awsRequestId: 'demo',
  getRemainingTimeInMillis: () => 3000,
} as unknown as Context;

const apiEvent = paymentEvent;

interface Row {
  case: string;
  expected: string;
  status: number;
  reason: string;
  latencyMs: number;
  metrics: string[];
}

/** One EMF blob as `Name=value {Dim=val}` strings. */
const describeEmf = (entry: Record<string, unknown>): string[] => {
  const aws = entry._aws as {
    CloudWatchMetrics: Array<{ Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }>;
  };
  return aws.CloudWatchMetrics.flatMap((directive) => {
    const dims = (directive.Dimensions[0] ?? [])
      .filter((d) => d !== 'service')
      .map((d) => `${d}=${String(entry[d])}`);
    return directive.Metrics.map(
      (metric) =>
        `${metric.Name}=${JSON.stringify(entry[metric.Name])}${metric.Unit === 'Count' ? '' : ` ${metric.Unit}`}${dims.length ? ` {${dims.join(', ')}}` : ''}`,
    );
  });
};

const main = async () => {
  const started = performance.now();
  const dns = await startTestDnsServer({
    zone: ZONE,
    records: [billing, reports, payroll].map((id) => ({
      name: id.name,
      type: 'TXT' as const,
      ttl: TTL,
      data: id.strings,
    })),
  });
  const secretsManager = await startLocalSecretsManager({
    '/prod/ledger/db': JSON.stringify({ username: 'ledger_app', password: 'demo-only-password' }),
    // billing's signing key, where `nhi-dns keygen` stores it: the caller finds it from its name.
    '/prod/nhi/billing/signing-key': JSON.stringify({
      ...billing.privateKey.export({ format: 'jwk' }),
      kid: billing.kid,
    }),
  });
  const secretsClient = secretsManager.client();
  const resolver = createResolver({ servers: [dns.server] });
  const callee = createCalleeHandler(
    { zone: ZONE, self: LEDGER, allow: [`*.prod.${ZONE}`], environment: 'prod' },
    { resolver, secretsClient },
  );
  const selfCheck = createSelfCheckHandler({ zone: ZONE, self: reports.name, resolver });
  // The ledger behind a loopback HTTP API and Lambda Invoke endpoint, for the example caller.
  const ledger = await startLocalLedger(callee, 'ledger');
  const lambda = new LambdaClient({
    endpoint: ledger.lambdaEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const callerContext = { ...lambdaContext, functionName: 'billing' } as Context;

  const rows: Row[] = [];
  const run = async (name: string, expected: string, invoke: () => Promise<unknown>) => {
    const out = captureOutput();
    const t0 = performance.now();
    let result: { statusCode?: number; body?: string };
    try {
      result = (await invoke()) as typeof result;
    } catch (error) {
      // Non-HTTP invocations are denied by a thrown IdentityError (statusCode + reason).
      const denial = error as { statusCode?: number; reason?: string };
      result = {
        statusCode: denial.statusCode ?? 500,
        body: JSON.stringify({ error: denial.reason ?? 'error' }),
      };
    } finally {
      out.restore();
    }
    const latencyMs = performance.now() - t0;
    let reason = '';
    try {
      const body = JSON.parse(result.body ?? '{}') as { error?: string; message?: string };
      reason = body.error ?? body.message ?? '';
    } catch {
      reason = String(result.body);
    }
    rows.push({
      case: name,
      expected,
      status: result.statusCode ?? 0,
      reason,
      latencyMs,
      metrics: out.emf().flatMap(describeEmf),
    });
  };

  const body = JSON.stringify({ amount: 125, currency: 'EUR' });
  const good = await billing.sign({ aud: LEDGER, body, method: 'POST' });
  await run('valid call (cold: DNS + Secrets Manager)', '200', () =>
    callee(apiEvent(good, body), lambdaContext),
  );
  // Proofs are signed before each case so that the latency column is the handler's alone.
  const warm = await billing.sign({ aud: LEDGER, body, method: 'POST' });
  await run('valid call (warm: all cached)', '200', () => callee(apiEvent(warm, body), lambdaContext));
  const misdirected = await billing.sign({ aud: `reports.prod.${ZONE}`, body });
  await run('wrong audience', '401 wrong_audience', () => callee(apiEvent(misdirected, body), lambdaContext));
  await run('replayed proof', '401 replayed', () => callee(apiEvent(good, body), lambdaContext));
  const unknown = await ghost.sign({ aud: LEDGER, body });
  await run('unknown caller (no DNS record)', '401 no_record', () =>
    callee(apiEvent(unknown, body), lambdaContext),
  );
  const bound = await billing.sign({ aud: LEDGER, body });
  const tampered = body.replace('125', '125000');
  await run('tampered body', '401 body_mismatch', () => callee(apiEvent(bound, tampered), lambdaContext));
  const fromDev = await payroll.sign({ aud: LEDGER, body });
  await run('caller not allowed (dev → prod)', '403 not_allowed', () =>
    callee(apiEvent(fromDev, body), lambdaContext),
  );

  // The example caller, built on identity-sign: its configuration is all it has (created in the
  // first case, so that its cold start, the key read from Secrets Manager, is timed there).
  let caller: CallerHandler | undefined;
  const billingCaller = () =>
    (caller ??= createCallerHandler(
      {
        self: billing.name,
        audiences: { [ledger.origin]: LEDGER, ledger: LEDGER },
        ledgerUrl: `${ledger.origin}/payments`,
        ledgerFunction: 'ledger',
      },
      { secretsClient, lambda, fetch: tlsTerminatedFetch() },
    ));
  await run('identity-sign caller: signed fetch (cold: key)', '200', () =>
    billingCaller()({ via: 'http', amount: 125 }, callerContext),
  );
  await run('identity-sign caller: direct invoke (envelope)', '200', () =>
    billingCaller()({ via: 'invoke', amount: 125 }, callerContext),
  );
  ledger.alterNext((event) => {
    event.body = String(event.body).replace('125', '125000');
  });
  await run('identity-sign caller: body changed in transit', '401 body_mismatch', () =>
    billingCaller()({ via: 'http', amount: 125 }, callerContext),
  );

  // A queue consumer: every record of a batch is verified on its own; the refused ones come back
  // as the partial batch response, so SQS retries them and, in the end, moves them to the DLQ.
  const worker = `orders-worker.prod.${ZONE}`;
  const consumer = createConsumerHandler({ self: worker, allow: [`*.prod.${ZONE}`] }, { resolver });
  const order = (id: number) => JSON.stringify({ orderId: `o-${id}`, amount: 10 * id });
  const replayedProof = await billing.sign({ aud: worker, body: order(2) });
  const batch = sqsEvent(
    sqsRecord('m1-valid', order(1), await billing.sign({ aud: worker, body: order(1) })),
    sqsRecord('m2-valid', order(2), replayedProof),
    sqsRecord('m3-tampered', order(3000), await billing.sign({ aud: worker, body: order(3) })),
    sqsRecord('m4-unknown', order(4), await ghost.sign({ aud: worker, body: order(4) })),
    sqsRecord('m5-replayed', order(2), replayedProof),
  );
  await run(
    'SQS batch: valid, tampered, unknown producer, replayed',
    '200 m3-tampered m4-unknown m5-replayed',
    async () => {
      const response = await consumer(batch, { ...lambdaContext, functionName: 'orders-worker' } as never);
      const failed = (response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier);
      return { statusCode: 200, body: JSON.stringify({ message: failed.join(' ') }) };
    },
  );

  // Revoke billing's key in DNS (p= empty) and wait one TTL: the cache expires, the revocation shows.
  dns.setRecords([
    { name: billing.name, type: 'TXT', ttl: TTL, data: billing.recordWith({ publicKey: '' }) },
    { name: reports.name, type: 'TXT', ttl: TTL, data: reports.strings },
    { name: payroll.name, type: 'TXT', ttl: TTL, data: payroll.strings },
  ]);
  await sleep(TTL * 1000 + 100);
  const afterRevocation = await billing.sign({ aud: LEDGER, body });
  await run('revoked key (after one TTL)', '401 revoked_key', () =>
    callee(apiEvent(afterRevocation, body), lambdaContext),
  );

  await run('self check: own record valid', '200', () => selfCheck({}, lambdaContext));
  dns.removeRecords(reports.name);
  await sleep(TTL * 1000 + 100);
  await run('self check: own record deleted (kill switch)', '503 self_mismatch', () =>
    selfCheck({}, lambdaContext),
  );

  await Promise.all([dns.stop(), secretsManager.stop(), ledger.stop()]);
  secretsClient.destroy();
  lambda.destroy();

  const header = ['case', 'expected', 'status', 'reason / message', 'latency'];
  const table = rows.map((row) => [
    row.case,
    row.expected,
    String(row.status),
    row.reason,
    `${row.latencyMs.toFixed(2)} ms`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(
    '\nnhi-dns demo: callee ledger.prod, zone auth.example.com, embedded DNS server and Secrets Manager\n',
  );
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of table) console.log(line(r));
  console.log('\nEMF metrics emitted per case (namespace NHI):');
  for (const row of rows) console.log(`- ${row.case}: ${row.metrics.join('; ') || '(none)'}`);
  const failures = rows.filter(
    (row) =>
      !row.expected.startsWith(`${row.status}`) ||
      // A 200 may name what it answered (the refused records of a batch): then that must match too.
      !row.expected.endsWith(row.status === 200 && !row.expected.includes(' ') ? '200' : row.reason),
  );
  console.log(
    `\n${rows.length - failures.length}/${rows.length} cases as expected in ${(performance.now() - started).toFixed(0)} ms`,
  );
  if (failures.length > 0) {
    console.error(`unexpected outcomes: ${failures.map((f) => f.case).join(', ')}`);
    process.exitCode = 1;
  }
};

await main();
