/**
 * A Route 53 hosted zone on moto, and its TXT RRsets served by a loopback DNS server: what the
 * suites that run the CLI and the rotation functions against moto share.
 */
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { parseTxtValue } from '@nhi-dns/cli';
import type { TestDnsServer } from '@nhi-dns/resolver/test-support';

/**
 * Creates the hosted zone `zone` on moto and gives it a real SOA (moto lists its default SOA as a
 * Python dict repr, which the CLI's negative-TTL read cannot parse).
 * @returns the hosted zone id, without `/hostedzone/` (moto's do not start with `Z`).
 */
export const createMotoHostedZone = async (route53: Route53Client, zone: string): Promise<string> => {
  const created = await route53.send(
    new CreateHostedZoneCommand({ Name: zone, CallerReference: `${Date.now()}` }),
  );
  const hostedZoneId = (created.HostedZone?.Id ?? '').replace('/hostedzone/', '');
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: hostedZoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: `${zone}.`,
              Type: 'SOA',
              TTL: 900,
              ResourceRecords: [{ Value: 'ns-1.example.net. hostmaster.example.net. 1 7200 900 1209600 60' }],
            },
          },
        ],
      },
    }),
  );
  return hostedZoneId;
};

/**
 * Copies the TXT RRset at `name` from moto's Route 53 into the loopback DNS server, replacing what
 * it served there: DNS then says what Route 53 holds, as it would after propagation.
 */
export const exportTxtToDns = async (
  route53: Route53Client,
  hostedZoneId: string,
  name: string,
  dns: TestDnsServer,
): Promise<void> => {
  const { ResourceRecordSets = [] } = await route53.send(
    new ListResourceRecordSetsCommand({ HostedZoneId: hostedZoneId }),
  );
  dns.removeRecords(name, 'TXT');
  for (const set of ResourceRecordSets.filter((rr) => rr.Type === 'TXT' && rr.Name === `${name}.`)) {
    for (const { Value = '' } of set.ResourceRecords ?? []) {
      // Route 53 presents TXT data as quoted character-strings.
      const strings = (parseTxtValue(Value) ?? []).map((part) => part.toString());
      dns.addRecord({ name, type: 'TXT', ttl: set.TTL ?? 60, data: strings });
    }
  }
};
