import fc from 'fast-check';

/** One byte-level edit, as a seeded mutation fuzzer applies them (AFL-style havoc). */
export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number }
  | { kind: 'truncate'; at: number };

/** Byte values that break parsers most often: lengths and pointers at their edges. */
const INTERESTING_BYTES = [0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xff];

/** Positions are fractions of the input length, so one mutation fits any sample. */
const position = fc.nat({ max: 0xffff });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({
    kind: fc.constant('set' as const),
    at: position,
    value: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.nat({ max: 255 })),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: position,
    bytes: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 16 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 32 }) }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    at: position,
    length: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
);

const applyMutation = (bytes: Buffer, edit: Mutation): Buffer => {
  if (bytes.length === 0) return edit.kind === 'insert' ? Buffer.from(edit.bytes) : bytes;
  const at = edit.at % bytes.length;
  switch (edit.kind) {
    case 'flip': {
      const copy = Buffer.from(bytes);
      copy[at] = (copy[at] ?? 0) ^ (1 << edit.bit);
      return copy;
    }
    case 'set': {
      const copy = Buffer.from(bytes);
      copy[at] = edit.value;
      return copy;
    }
    case 'insert':
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(edit.bytes), bytes.subarray(at)]);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + edit.length)]);
    case 'duplicate':
      return Buffer.concat([bytes.subarray(0, at + edit.length), bytes.subarray(at)]);
    case 'truncate':
      return bytes.subarray(0, at);
  }
};

/** Applies edits in order. */
export const mutate = (bytes: Buffer, edits: readonly Mutation[]): Buffer =>
  edits.reduce(applyMutation, bytes);

/** Samples from `bases`, each with 1..`maxEdits` seeded random byte edits. */
export const mutatedFrom = (bases: readonly Buffer[], maxEdits = 6): fc.Arbitrary<Buffer> =>
  fc
    .tuple(fc.constantFrom(...bases), fc.array(mutation, { minLength: 1, maxLength: maxEdits }))
    .map(([base, edits]) => mutate(base, edits));

/** Arbitrary random bytes up to `maxLength`. */
export const randomBytes = (maxLength: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ maxLength }).map((array) => Buffer.from(array));
