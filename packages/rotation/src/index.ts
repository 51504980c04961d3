/**
 * `@nhi-dns/rotation`: Lambda handlers that rotate nhi-dns signing keys on their own (DESIGN §4.5):
 * a Secrets Manager rotation function for secret-held keys, and a scheduled rotation of KMS-held
 * keys. Both drive the CLI's rotation engine, so a key rotates the same way from a schedule as from
 * `nhi-dns rotate`.
 *
 * @module
 */
export {};
