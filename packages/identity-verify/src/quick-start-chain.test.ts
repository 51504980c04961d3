/**
 * The README's Quick start chain as a user writes it: `httpErrorHandler()` first, no logger or
 * metrics passed (nhi-dns' defaults), a handler that reads the typed `context.caller`. Each
 * event kind must get the documented answer (issue 12 items 1, 6 and 7).
 */
import { jest } from '@jest/globals';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import { IdentityError } from '@nhi-dns/core';
import { captureOutput, createTestIdentity } from '@nhi-dns/core/test-support';
import identityResolve from '@nhi-dns/identity-resolve';
import { DnsError } from '@nhi-dns/resolver';
import { createTableResolver } from '@nhi-dns/resolver/test-support';
import type { Context } from 'aws-lambda';
import identityVerify from './index.js';

const ZONE = 'auth.example.com';
const SELF = `ledger.prod.${ZONE}`;
const billing = createTestIdentity(`billing.prod.${ZONE}`);
const table = new Map<string, string[][] | Error>([[billing.name, [billing.strings]]]);

delete process.env.POWERTOOLS_SERVICE_NAME;
process.env.AWS_LAMBDA_FUNCTION_NAME = 'ledger-fn';

const errorLogger = jest.fn();
const handler = middy()
  .use(httpErrorHandler({ logger: errorLogger }))
  .use(identityResolve({ zone: ZONE, resolver: createTableResolver(table) }))
  .use(identityVerify({ self: SELF, allow: [`*.prod.${ZONE}`] }))
  .handler(async (_event, context) => {
    // Typed through Middy's use(): a verified caller, not optional, not Lambda's CognitoIdentity.
    const { caller } = context;
    return {
      statusCode: 200,
      body: `hello ${caller.service} (${caller.kid})`,
      same: context.identity === caller,
    };
  });

let requests = 0;
const lambdaContext = () =>
  ({
    awsRequestId: `request-${++requests}`,
    functionName: 'ledger-fn',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ledger-fn',
    memoryLimitInMB: '512',
    getRemainingTimeInMillis: () => 3000,
  }) as unknown as Context & Parameters<typeof handler>[1];

const httpEvent = (token?: string) => ({
  version: '2.0',
  rawPath: '/pay',
  headers: { host: 'api.example.com', ...(token === undefined ? {} : { authorization: `NHI ${token}` }) },
  requestContext: { domainName: 'api.example.com', http: { method: 'POST', path: '/pay' } },
  body: '{}',
  isBase64Encoded: false,
});

const invoke = async (event: unknown) => {
  const out = captureOutput();
  try {
    const context = lambdaContext();
    const result: { value?: unknown; error?: unknown } = await handler(event, context).then(
      (value: unknown) => ({ value }),
      (error: unknown) => ({ error }),
    );
    return { ...result, context, out };
  } finally {
    out.restore();
  }
};

describe('the Quick start chain (httpErrorHandler first, default logger and metrics)', () => {
  beforeEach(() => errorLogger.mockClear());

  it('serves a verified caller on context.caller (and on the deprecated context.identity)', async () => {
    const { value } = await invoke(httpEvent(await billing.sign({ aud: SELF })));
    expect(value).toEqual({ statusCode: 200, body: `hello billing (${billing.kid})`, same: true });
  });

  it('answers an HTTP call without a proof 401 with the JSON body, not through http-error-handler', async () => {
    const { value } = await invoke(httpEvent());
    expect(value).toMatchObject({
      statusCode: 401,
      body: '{"error":"missing_proof"}',
      headers: { 'WWW-Authenticate': 'NHI error="invalid_token"' },
    });
    expect(errorLogger).not.toHaveBeenCalled();
  });

  it('throws IdentityError for a direct invocation without a proof, past http-error-handler, logging no stack', async () => {
    const { error, out } = await invoke({ payload: { amount: 1 } });
    expect(error).toBeInstanceOf(IdentityError);
    expect(error).toMatchObject({ reason: 'missing_proof', statusCode: 401 });
    expect(errorLogger).not.toHaveBeenCalled();
    expect(out.lines.join('\n')).not.toMatch(/\n\s+at /);
    expect(out.json().find((line) => line.message === 'identity denied')).toMatchObject({
      level: 'WARN',
      'nhi.reason': 'missing_proof',
    });
  });

  it('answers a DNS failure of an HTTP call 503 with Retry-After, and throws it for a direct invocation', async () => {
    const unreachable = createTestIdentity(`payroll.prod.${ZONE}`);
    table.set(unreachable.name, new DnsError('timeout', 'no answer'));
    const token = await unreachable.sign({ aud: SELF });
    const http = await invoke(httpEvent(token));
    expect(http.value).toMatchObject({ statusCode: 503, headers: { 'Retry-After': '5' } });
    const direct = await invoke({ nhiProof: token });
    expect(direct.error).toMatchObject({ name: 'IdentityError', reason: 'dns_failure', statusCode: 503 });
  });

  it('refuses a misspelt option at compile time and at init', () => {
    // @ts-expect-error: `allowList` is not an option (object literals keep the excess-property check).
    expect(() => identityVerify({ self: SELF, allowList: [] })).toThrow(/did you mean 'allow'/);
  });

  it('writes every log line with the request id, and logs and EMF name the same service', async () => {
    const runs = [
      await invoke(httpEvent(await billing.sign({ aud: SELF }))),
      await invoke(httpEvent()),
      await invoke({}),
    ];
    for (const { out, context } of runs) {
      const logs = out.json().filter((line) => !('_aws' in line));
      expect(logs.length).toBeGreaterThan(0);
      for (const line of logs) {
        expect(line).toMatchObject({ function_request_id: context.awsRequestId, service: 'ledger-fn' });
      }
      for (const emf of out.emf()) expect(emf.service).toBe('ledger-fn');
      expect(out.emf().length).toBeGreaterThan(0);
    }
  });
});
