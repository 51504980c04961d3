import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A real garbage collection for heap measurements in tests, when the runtime lets us have one:
 * `globalThis.gc` under `--expose-gc`, else the flag switched on at run time. `undefined` when
 * neither works (then measurements need generous bounds).
 */
export const forcedGc: (() => void) | undefined = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    return typeof fn === 'function' ? (fn as () => void) : undefined;
  } catch {
    return undefined;
  }
})();
