/**
 * moto (the AWS API emulator) on loopback, for tests that need real AWS API behaviour: Route 53,
 * Secrets Manager, KMS (P-256 only: moto has no Ed25519 keys), SQS, SNS, EventBridge. One process
 * serves every service; the AWS SDK v3 reaches it through `endpoint`. Fails loudly, naming what is
 * missing, when `moto_server` is not installed (it comes with Python: `pip install 'moto[server]'`).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { LabError } from './lab-error.js';
import { freeTcpPort, LOOPBACK } from './ports.js';

/** A running moto server. */
export interface MotoServer {
  /** `http://127.0.0.1:PORT`: give it to SDK clients as `endpoint`. */
  readonly endpoint: string;
  /** SDK client settings that reach this server (region, endpoint, dummy credentials). */
  readonly clientConfig: {
    readonly region: string;
    readonly endpoint: string;
    readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  };
  /** Clears every service's state (`POST /moto-api/reset`). */
  reset(): Promise<void>;
  /** Stops the server. */
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 20_000;

/**
 * Starts `moto_server -H 127.0.0.1 -p PORT` and waits until it answers.
 * @throws {LabError} when moto is not installed or does not come up.
 */
export const startMoto = async (): Promise<MotoServer> => {
  const found = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' });
  if (found.status !== 0) {
    throw new LabError(
      'moto_server not found on PATH: the AWS API tests need moto (Python: pip install "moto[server]"; ' +
        'on the project machine image it is preinstalled with Python 3.11)',
    );
  }
  const port = await freeTcpPort();
  const endpoint = `http://${LOOPBACK}:${port}`;
  const child: ChildProcess = spawn('moto_server', ['-H', LOOPBACK, '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      throw new LabError(`moto_server exited with ${child.exitCode} before answering:\n${stderr}`);
    }
    const up = await fetch(`${endpoint}/moto-api/`).then(
      (response) => response.status < 500,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new LabError(
        `moto_server did not answer on ${endpoint} within ${STARTUP_TIMEOUT_MS} ms:\n${stderr}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    endpoint,
    clientConfig: {
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    },
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new LabError(`moto reset answered ${response.status}`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
};
