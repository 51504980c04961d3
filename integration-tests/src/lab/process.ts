import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { LabError } from './lab-error.js';

/** Output of a finished command. */
export interface CommandOutput {
  stdout: string;
  stderr: string;
}

/** Last lines of a daemon's output, to put into an error message. */
const tail = (text: string, lines = 15): string => text.trimEnd().split('\n').slice(-lines).join('\n');

/**
 * Runs `file` with `args` (no shell) and resolves with its output.
 * @throws {LabError} when it exits non-zero or outlives `timeoutMs` (default 15 s); the message
 * carries the command line and the end of stderr.
 */
export const runCommand = (
  file: string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<CommandOutput> =>
  new Promise((resolve, reject) => {
    const settings = { timeout: options.timeoutMs ?? 15_000, encoding: 'utf8' as const, cwd: options.cwd };
    execFile(file, args, settings, (error, stdout, stderr) => {
      if (error === null) {
        resolve({ stdout, stderr });
        return;
      }
      const output = tail(`${stdout}\n${stderr}`);
      reject(
        new LabError(`\`${[file, ...args].join(' ')}\` failed: ${error.message}\n${output}`, {
          cause: error,
        }),
      );
    });
  });

/** The end of a log file, or a note that it cannot be read (for error messages only). */
export const logTail = async (path: string): Promise<string> => {
  try {
    return tail(await readFile(path, 'utf8'));
  } catch {
    return `(no log at ${path})`;
  }
};

/** Options of {@link waitUntil}. */
export interface WaitOptions {
  /** What is awaited, for the error message. */
  what: string;
  /** Give up after this many ms. Default 10 000. */
  timeoutMs?: number;
  /** Pause between probes, ms. Default 50. */
  intervalMs?: number;
}

/**
 * Calls `probe` until it resolves `true`. A probe that throws counts as "not yet" (a daemon
 * that is still starting refuses connections); the last error goes into the timeout message.
 * @throws {LabError} when `timeoutMs` passes first.
 */
export const waitUntil = async (probe: () => Promise<boolean>, options: WaitOptions): Promise<void> => {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const giveUpAt = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= giveUpAt) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new LabError(`timed out after ${timeoutMs} ms waiting for ${options.what}${detail}`);
    }
    await new Promise((resume) => setTimeout(resume, intervalMs));
  }
};

/** Reads a daemon's pid file. @throws {LabError} when it is missing or holds no pid. */
export const readPidFile = async (path: string): Promise<number> => {
  const pid = Number.parseInt((await readFile(path, 'utf8').catch(() => '')).trim(), 10);
  if (!Number.isInteger(pid) || pid <= 1) throw new LabError(`no pid in ${path}`);
  return pid;
};

/**
 * True while `pid` runs. A daemon that exited stays a zombie until its adoptive parent reaps
 * it, which some container inits do late; a zombie counts as gone.
 */
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

/**
 * Stops one process by its pid: SIGTERM, then SIGKILL if it is still there after `graceMs`.
 * Resolves once it is gone. Never signals anything but `pid`.
 */
export const stopProcess = async (pid: number, graceMs = 3_000): Promise<void> => {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const giveUpAt = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < giveUpAt) await new Promise((resume) => setTimeout(resume, 20));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await new Promise((resume) => setTimeout(resume, 20));
};

/**
 * A `stop()` for a daemon that signals its pid at most once: a second call (or a call after
 * the pid was reaped and perhaps reused) only awaits the first.
 */
export const stopOnce = (pid: number): (() => Promise<void>) => {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= stopProcess(pid);
    return stopping;
  };
};
