import { awsConfigError, describeError, EXIT_CODE, exitCodeFor } from './errors.js';

/** What the SDK's credential chain throws: a `CredentialsProviderError`, without `$metadata`. */
const noCredentials = () =>
  Object.assign(new Error('Could not load credentials from any providers'), {
    name: 'CredentialsProviderError',
    tryNextLink: false,
  });

describe('errors', () => {
  it('maps missing credentials to the AWS exit code with what to do', () => {
    const error = noCredentials();
    expect(exitCodeFor(error)).toBe(EXIT_CODE.aws);
    const { reason, message } = describeError(error);
    expect(reason).toBe('aws_credentials');
    expect(message).toContain('Could not load credentials from any providers');
    expect(message).toContain('--profile');
    expect(exitCodeFor(Object.assign(new Error('SSO token expired'), { name: 'TokenProviderError' }))).toBe(
      3,
    );
  });

  it('maps "Region is missing" (a bare Error from the SDK) to the AWS exit code, naming --region', () => {
    const error = new Error('Region is missing');
    expect(exitCodeFor(error)).toBe(EXIT_CODE.aws);
    expect(describeError(error)).toEqual({
      reason: 'aws_region',
      message: expect.stringMatching(/--region.*AWS_REGION/),
    });
    expect(awsConfigError(new Error('Invalid region in client config'))).toMatchObject({
      reason: 'aws_region',
    });
  });

  it('leaves other errors as they were', () => {
    expect(awsConfigError(new Error('boom'))).toBeUndefined();
    expect(exitCodeFor(new Error('boom'))).toBe(EXIT_CODE.other);
    expect(describeError(new Error('boom'))).toEqual({ reason: 'internal', message: 'boom' });
    const denied = Object.assign(new Error('no'), { name: 'AccessDenied', $metadata: {} });
    expect(exitCodeFor(denied)).toBe(EXIT_CODE.aws);
    expect(describeError(denied)).toEqual({ reason: 'AccessDenied', message: 'AWS AccessDenied: no' });
  });
});
