import { NhiError } from '@nhi-dns/core';
import { classifyAwsCode, classifyAwsError, SecretsError, secretError } from './errors.js';

const sdkError = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error('message'), { name, ...extra });

describe('classifyAwsError', () => {
  it.each([
    ['AccessDeniedException', 'access_denied', 'AccessDenied', false],
    ['ResourceNotFoundException', 'not_found', 'NotFound', false],
    ['DecryptionFailure', 'decryption_failed', 'Decryption', false],
    ['ThrottlingException', 'fetch_failed', 'Throttling', true],
    ['InternalServiceError', 'fetch_failed', 'ServiceError', true],
    ['TimeoutError', 'fetch_failed', 'Network', true],
    ['InvalidRequestException', 'fetch_failed', 'Other', false],
  ])('%s is %s / %s, transient %s', (name, reason, code, transient) => {
    expect(classifyAwsCode(name)).toEqual({ reason, code, awsCode: name, transient });
  });

  it('treats 5xx of unknown name as ServiceError and Node network codes as Network', () => {
    expect(classifyAwsError(sdkError('Weird', { $fault: 'server' })).code).toBe('ServiceError');
    expect(classifyAwsError(sdkError('Weird', { $metadata: { httpStatusCode: 503 } })).code).toBe(
      'ServiceError',
    );
    expect(classifyAwsError(sdkError('Error', { code: 'ECONNRESET' }))).toMatchObject({
      code: 'Network',
      awsCode: 'ECONNRESET',
      transient: true,
    });
    expect(classifyAwsError('boom')).toMatchObject({ code: 'Other', awsCode: 'Unknown', transient: false });
  });
});

describe('SecretsError', () => {
  it('is an NhiError naming the secret and the code, with a safe JSON view', () => {
    const error = secretError('access_denied', '/prod/dbcreds', 'AccessDeniedException');
    expect(error).toBeInstanceOf(NhiError);
    expect(error).toBeInstanceOf(SecretsError);
    expect(error.message).toBe(
      'secrets-inject: access denied to secret "/prod/dbcreds" (AccessDeniedException)',
    );
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'SecretsError',
      reason: 'access_denied',
      message: error.message,
      secretName: '/prod/dbcreds',
      awsCode: 'AccessDeniedException',
    });
  });
});
