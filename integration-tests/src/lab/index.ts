export { type DnsLab, type DnsLabOptions, type LabZone, startDnsLab, type ZoneSecurity } from './dns-lab.js';
export { DNS_TOOLS, type DnsTool, type DnsToolPaths, locateDnsTools } from './dns-tools.js';
export { LabError } from './lab-error.js';
export { presentTxtString, renderZoneFile, type TxtRecord, type ZoneContent } from './zone-file.js';
