/**
 * Sends what Powertools writes during timing to a sink: its Logger and Metrics print through
 * their own Console on `process.stdout`/`process.stderr`, and in Lambda that write is a cheap
 * pipe to the runtime. Writing to a terminal here would measure the terminal instead.
 */

/** Restores the real streams. */
export type RestoreOutput = () => void;

/** Replaces `write` of stdout and stderr with a no-op that counts the bytes it swallowed. */
export const silenceOutput = (): RestoreOutput & { readonly bytes: () => number } => {
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write);
  let bytes = 0;
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      bytes += typeof chunk === 'string' ? chunk.length : chunk.byteLength;
      // Honour a write callback, as the real stream would.
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      if (callback !== undefined) queueMicrotask(callback);
      return true;
    }) as typeof stream.write;
  }
  const restore = () => {
    streams.forEach((stream, i) => {
      stream.write = originals[i] ?? stream.write;
    });
  };
  return Object.assign(restore, { bytes: () => bytes });
};

/** Runs `work` with output silenced, restoring the streams whatever happens. */
export const withSilencedOutput = async <T>(work: () => Promise<T>): Promise<T> => {
  const restore = silenceOutput();
  try {
    return await work();
  } finally {
    restore();
  }
};
