import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { CreateAliasCommand, CreateKeyCommand, GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { createSigner } from './signer.js';
import {
  LEDGER,
  recordingObservability,
  recordKeyFromSpki,
  SELF,
  verifyPairAs,
} from './test-helpers.test-support.js';

// The KMS key against moto (the AWS API emulator): its own request and response encoding, and
// its DER ECDSA signatures. moto has no Ed25519 keys, so this is the P-256 path.
const LOOPBACK = '127.0.0.1';

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });

let moto: ChildProcess | undefined;
let endpoint = '';

beforeAll(async () => {
  if (spawnSync('sh', ['-c', 'command -v moto_server']).status !== 0) {
    throw new Error('moto_server not found on PATH: this test needs moto (pip install "moto[server]")');
  }
  const port = await freePort();
  endpoint = `http://${LOOPBACK}:${port}`;
  const child = spawn('moto_server', ['-H', LOOPBACK, '-p', String(port)], { stdio: 'ignore' });
  moto = child;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
    const up = await fetch(`${endpoint}/moto-api/`).then(
      (response) => response.status < 500,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`moto_server did not answer on ${endpoint}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 30_000);

afterAll(async () => {
  const child = moto;
  if (child === undefined || child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
});

describe('KMS key against moto', () => {
  it('signs the WIT with a real KMS API (alias, KeySpec from GetPublicKey, DER signature), and the pair verifies', async () => {
    const client = new KMSClient({
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const { KeyMetadata } = await client.send(
      new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }),
    );
    const keyId = KeyMetadata?.KeyId ?? '';
    await client.send(new CreateAliasCommand({ AliasName: 'alias/billing-nhi', TargetKeyId: keyId }));
    const { PublicKey } = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
    const recordKey = recordKeyFromSpki(PublicKey as Uint8Array, 'p256', 'kms-1');

    const recorded = recordingObservability();
    const signer = createSigner({
      ...recorded.options,
      self: SELF,
      kmsClient: client,
      signingKey: { kmsKeyId: 'alias/billing-nhi', kid: 'kms-1' },
    });
    await signer.ready();
    const credential = await signer.signCredential({ aud: LEDGER, body: '{"n":1}' });
    if (credential.kind !== 'workload') throw new Error('expected a workload credential');
    const { identity } = verifyPairAs(credential, recordKey, {
      now: Math.floor(Date.now() / 1000),
      body: '{"n":1}',
      requireBodyHash: true,
    });
    expect(identity.iss).toBe(SELF);
    expect(recorded.logs).toContainEqual(
      expect.objectContaining({ message: 'identity-sign: workload identity token issued' }),
    );
  });

  it('fails closed on a key KMS does not have, naming the AWS error', async () => {
    const client = new KMSClient({
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const signer = createSigner({
      ...recordingObservability().options,
      self: SELF,
      kmsClient: client,
      signingKey: { kmsKeyId: 'alias/missing', kid: 'kms-1', keyType: 'p256' },
      prefetch: false,
    });
    await expect(signer.ready()).rejects.toMatchObject({
      reason: 'signing_key_unavailable',
      message: expect.stringContaining('NotFoundException'),
    });
  });
});
