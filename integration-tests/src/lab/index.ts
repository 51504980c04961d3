export { type DnsLab, type DnsLabOptions, type LabZone, startDnsLab, type ZoneSecurity } from './dns-lab.js';
export { DNS_TOOLS, type DnsTool, type DnsToolPaths, locateDnsTools } from './dns-tools.js';
export {
  type ChildSigning,
  type DelvAnswer,
  type DnssecChild,
  type DnssecChildInfo,
  type DnssecLab,
  type DnssecLabOptions,
  type DnssecToolPaths,
  delvVerdict,
  type ExternalVerdict,
  LDNS_ALGORITHM_NUMBERS,
  type LdnsAlgorithm,
  type LdnsFault,
  locateDnssecTools,
  startDnssecLab,
  type UnboundAnswer,
  unboundVerdict,
} from './dnssec-lab.js';
export { LabError } from './lab-error.js';
export { presentTxtString, renderZoneFile, type TxtRecord, type ZoneContent } from './zone-file.js';
