/**
 * Remembers `value` under `key` in `memo`, forgetting the oldest key first once `maxEntries` are
 * held: the small per-process memos of parsed inputs (proof headers, client certificates) that a
 * warm function sees again and again, and that a flood of distinct inputs must not grow.
 */
export const rememberBounded = <K, V>(memo: Map<K, V>, key: K, value: V, maxEntries: number): void => {
  if (!memo.has(key) && memo.size >= maxEntries) {
    const oldest = memo.keys().next();
    if (oldest.done !== true) memo.delete(oldest.value);
  }
  memo.set(key, value);
};
