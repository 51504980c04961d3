import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { LabError } from './lab-error.js';

/** Executables the lab runs, with the Debian package that ships each. */
export const DNS_TOOLS = Object.freeze({
  knotd: 'knot',
  knotc: 'knot',
  unbound: 'unbound',
  'ldns-keygen': 'ldnsutils',
  'ldns-signzone': 'ldnsutils',
});

/** Name of a tool in {@link DNS_TOOLS}. */
export type DnsTool = keyof typeof DNS_TOOLS;

/** Absolute path of every tool. */
export type DnsToolPaths = Readonly<Record<DnsTool, string>>;

/** Daemons live in sbin, which an unprivileged user's PATH often lacks. */
const SBIN_DIRECTORIES = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

const INSTALL_HINT =
  'Install them with `sudo integration-tests/setup/install.sh` ' +
  '(Debian/Ubuntu: `apt-get install -y knot knot-dnsutils unbound ldnsutils dnsutils`).';

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Where tools are looked for by default: PATH, then the sbin directories. */
export const defaultToolDirectories = (path: string = process.env.PATH ?? ''): string[] => [
  ...path.split(delimiter).filter(Boolean),
  ...SBIN_DIRECTORIES,
];

/**
 * Locates knot, unbound and the ldns tools in `directories` (default {@link defaultToolDirectories}).
 * @throws {LabError} naming every missing tool and how to install it. The integration tests
 * must fail, not skip, on a machine without them: a skipped suite reads as a passing one.
 */
export const locateDnsTools = (directories: readonly string[] = defaultToolDirectories()): DnsToolPaths => {
  const found: Partial<Record<DnsTool, string>> = {};
  const missing: string[] = [];
  for (const [tool, debianPackage] of Object.entries(DNS_TOOLS) as Array<[DnsTool, string]>) {
    const location = directories.map((directory) => join(directory, tool)).find(isExecutable);
    if (location === undefined) missing.push(`${tool} (package ${debianPackage})`);
    else found[tool] = location;
  }
  if (missing.length > 0) {
    throw new LabError(
      `The DNS integration tests need real DNS servers, and these are missing: ${missing.join(', ')}. ${INSTALL_HINT}`,
    );
  }
  return found as DnsToolPaths;
};
