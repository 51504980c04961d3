import { KMSClient } from '@aws-sdk/client-kms';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createResolver } from '@nhi-dns/resolver';
import type { CliDeps } from './cli.js';
import { readProcessStdin } from './commands/sign.js';

/** Region the Route 53 client signs for when none is given: Route 53 is a global service. */
const ROUTE53_DEFAULT_REGION = 'us-east-1';

/**
 * The real dependencies of the CLI: AWS clients created on demand from `--profile`/`--region`
 * (the SDK's default credential chain otherwise), a non-caching resolver for `check` (it must
 * see what DNS says now), and the process's stdin/stdout/stderr. Creating it does no I/O.
 */
export const createDefaultDeps = (): CliDeps => ({
  stdout: (text) => {
    process.stdout.write(text);
  },
  stderr: (text) => {
    process.stderr.write(text);
  },
  readStdin: readProcessStdin,
  createAwsClients: ({ profile, region }) => {
    const shared = profile === undefined ? {} : { profile };
    return {
      route53: new Route53Client({ ...shared, region: region ?? ROUTE53_DEFAULT_REGION }),
      secrets: new SecretsManagerClient({ ...shared, ...(region === undefined ? {} : { region }) }),
      kms: new KMSClient({ ...shared, ...(region === undefined ? {} : { region }) }),
    };
  },
  createResolver: ({ servers }) =>
    createResolver({ cache: false, ...(servers === undefined ? {} : { servers }) }),
});
