/**
 * A real DynamoDB wire protocol on loopback: dynalite (in-memory) in a child process of its own,
 * so that the claims under test cross HTTP, JSON and the engine's conditional-write logic as they
 * do against DynamoDB, and so that the engine can be paused (SIGSTOP: a store that accepts
 * connections but never answers) or killed (a store that is gone) mid-run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { LOOPBACK } from '../lab/ports.js';

/** A running dynalite. */
export interface Dynalite {
  /** `http://127.0.0.1:<port>`, the endpoint of every client. */
  readonly endpoint: string;
  readonly pid: number;
  /** A client of this engine, as a Lambda function creates one (region, credentials), plus `config`. */
  client(config?: DynamoDBClientConfig): DynamoDBClient;
  /** SIGSTOP: the socket stays open, nothing answers (a hung store). */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** Ends the engine (its in-memory tables go with it); resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

/** A TCP port the OS reports free on loopback right now. */
const freeTcpPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port);
        else reject(new Error('no TCP port assigned'));
      });
    });
  });

/** Resolves once `child` printed dynalite's "listening" line; rejects when it exits first. */
const listening = (child: ChildProcess, timeoutMs: number): Promise<void> =>
  new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => fail(new Error(`dynalite did not listen within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Dynalite listening at')) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      fail(new Error(`dynalite exited (${signal ?? code}) before listening:\n${output.trim()}`));
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    const fail = (error: Error) => {
      cleanup();
      reject(error);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));

/** Credentials and region of every test client: dynalite checks that requests are signed, not by whom. */
export const TEST_CLIENT_CONFIG = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDNHIDNSTEST', secretAccessKey: 'nhi-dns-test-secret' },
} as const;

/**
 * Runs dynalite's CLI (`process.argv[1]`, its options after it) and ends the engine when its
 * stdin closes: an engine never outlives the test or bench that started it, even one that crashed.
 */
const WATCHDOG = [
  "process.stdin.on('end', () => process.exit(0)).resume();",
  'require(process.argv[1]);',
].join(' ');

/**
 * Starts dynalite in memory on 127.0.0.1 at a free port, with tables ACTIVE at once (no 500 ms
 * CREATING phase). Retries on another port when the chosen one was taken meanwhile.
 */
export const startDynalite = async (): Promise<Dynalite> => {
  const cli = createRequire(import.meta.url).resolve('dynalite/cli.js');
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freeTcpPort();
    const child = spawn(
      process.execPath,
      [
        '-e',
        WATCHDOG,
        cli,
        '--host',
        LOOPBACK,
        '--port',
        String(port),
        '--createTableMs',
        '0',
        '--deleteTableMs',
        '0',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    try {
      await listening(child, 10_000);
    } catch (error) {
      lastError = error;
      child.kill('SIGKILL');
      await exited(child);
      continue;
    }
    // Keep draining its output so that a chatty engine never blocks on a full pipe.
    child.stdout?.resume();
    child.stderr?.resume();
    const endpoint = `http://${LOOPBACK}:${port}`;
    let paused = false;
    let stopping: Promise<void> | undefined;
    return {
      endpoint,
      pid: child.pid ?? -1,
      client: (config = {}) => new DynamoDBClient({ ...TEST_CLIENT_CONFIG, endpoint, ...config }),
      pause: () => {
        child.kill('SIGSTOP');
        paused = true;
      },
      resume: () => {
        child.kill('SIGCONT');
        paused = false;
      },
      stop: () => {
        stopping ??= (async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          if (paused) child.kill('SIGCONT');
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
          await exited(child);
          clearTimeout(timer);
        })();
        return stopping;
      },
    };
  }
  throw new Error(`dynalite did not start: ${lastError instanceof Error ? lastError.message : lastError}`);
};
