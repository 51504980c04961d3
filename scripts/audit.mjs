#!/usr/bin/env node
// Two checks of the runtime dependency tree (what `npm install` of our packages brings, dev
// tools aside):
// 1. `npm audit --omit=dev`, failing on any high or critical finding. When the registry offers
//    no audit endpoint (some mirrors answer 405) it cannot run: say so loudly, never pretend.
// 2. Offline, always: every runtime package in package-lock.json against the advisories listed
//    in scripts/known-advisories.json, failing on any match of high or critical severity.
//    It knows only what that list holds, so it is a floor under check 1, not a replacement.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import semver from 'semver';

const SERIOUS = new Set(['high', 'critical']);
let failed = false;

// 1. npm audit
const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8' });
let report;
try {
  report = JSON.parse(run.stdout || '{}');
} catch {
  report = {};
}
const counts = report.metadata?.vulnerabilities;
if (counts === undefined) {
  const reason =
    report.error?.summary || report.message || run.stderr.trim().split('\n').pop() || 'no report';
  console.warn(`npm audit: NOT CHECKED — the registry's audit endpoint is unavailable (${reason}).`);
} else {
  const serious = (counts.high ?? 0) + (counts.critical ?? 0);
  console.log(`npm audit --omit=dev: ${JSON.stringify(counts)}`);
  if (serious > 0) {
    console.error(`npm audit: ${serious} high or critical finding(s) in runtime dependencies`);
    failed = true;
  }
}

// 2. Offline: the lockfile against the pinned advisory list.
const readJson = (name) => JSON.parse(readFileSync(new URL(name, import.meta.url), 'utf8'));
const lock = readJson('../package-lock.json');
const { advisories, reviewed } = readJson('./known-advisories.json');
const runtime = Object.entries(lock.packages ?? {})
  // npm marks packages that only dev dependencies reach with `dev: true`; links are workspaces.
  .filter(([path, entry]) => path.includes('node_modules/') && !entry.dev && !entry.link)
  .map(([path, entry]) => ({
    name: path.slice(path.lastIndexOf('node_modules/') + 13),
    path,
    version: entry.version,
  }));
const matches = runtime.flatMap((pkg) =>
  advisories
    .filter((a) => a.package === pkg.name && semver.satisfies(pkg.version, a.vulnerable))
    .map((a) => ({ ...a, pkg })),
);
for (const m of matches) {
  const line = `${m.severity} ${m.id} ${m.pkg.name}@${m.pkg.version} (${m.pkg.path}): ${m.summary}`;
  (SERIOUS.has(m.severity) ? console.error : console.warn)(`known advisory: ${line}`);
}
console.log(
  `offline advisory check: ${runtime.length} runtime packages in package-lock.json against ` +
    `${advisories.length} listed advisories (reviewed ${reviewed}): ${matches.length} match(es)`,
);
if (matches.some((m) => SERIOUS.has(m.severity))) failed = true;
process.exit(failed ? 1 : 0);
