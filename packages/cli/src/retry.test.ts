import { jest } from '@jest/globals';
import { isRetryableAwsError, withRetry } from './retry.js';

const awsError = (name: string): Error => Object.assign(new Error(`${name} happened`), { name });

describe('withRetry', () => {
  it.each(['Throttling', 'ThrottlingException', 'PriorRequestNotComplete'])('retries %s', async (name) => {
    const sleep = jest.fn(async (_ms: number) => {});
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls += 1;
        if (calls < 3) throw awsError(name);
        return 'done';
      },
      { sleep, random: () => 0.5 },
    );
    expect(result).toBe('done');
    expect(calls).toBe(3);
    // Full jitter: half of the exponential ceilings 500 and 1000 ms.
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([250, 500]);
  });

  it('does not retry other errors', async () => {
    const sleep = jest.fn(async (_ms: number) => {});
    const operation = jest.fn(async () => {
      throw awsError('InvalidChangeBatch');
    });
    await expect(withRetry(operation, { sleep })).rejects.toThrow('InvalidChangeBatch happened');
    expect(operation).toHaveBeenCalledTimes(1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it('gives up after maxAttempts with the last error, delays capped at maxDelayMs', async () => {
    const delays: number[] = [];
    const operation = jest.fn(async () => {
      throw awsError('Throttling');
    });
    await expect(
      withRetry(operation, {
        maxAttempts: 6,
        baseDelayMs: 100,
        maxDelayMs: 1000,
        random: () => 0.999,
        sleep: async (ms) => {
          delays.push(ms);
        },
      }),
    ).rejects.toThrow('Throttling happened');
    expect(operation).toHaveBeenCalledTimes(6);
    expect(delays).toEqual([99, 199, 399, 799, 999]);
  });

  it('reports each retry', async () => {
    const onRetry = jest.fn();
    let calls = 0;
    await withRetry(
      async () => {
        calls += 1;
        if (calls === 1) throw awsError('Throttling');
      },
      { sleep: async () => {}, random: () => 0, onRetry },
    );
    expect(onRetry).toHaveBeenCalledWith({ attempt: 1, delayMs: 0, errorName: 'Throttling' });
  });

  it('classifies only AWS throttling names as retryable', () => {
    expect(isRetryableAwsError(awsError('PriorRequestNotComplete'))).toBe(true);
    expect(isRetryableAwsError({ name: 'Throttling' })).toBe(false);
    expect(isRetryableAwsError(awsError('AccessDenied'))).toBe(false);
  });
});
