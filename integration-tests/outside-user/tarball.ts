/**
 * What a published tarball must hold (issue 12 item 4): a licence, the metadata npm shows, no
 * export condition or source map that names a file the tarball does not ship, and engines that
 * match what CI proves.
 */
import { execFileSync } from 'node:child_process';

/** Node.js range every package claims, and CI proves (Lambda's nodejs22.x and nodejs24.x). */
export const SUPPORTED_NODE = '>=22';

const exportTargets = (value: unknown): string[] => {
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || value === null) return [];
  return Object.values(value).flatMap(exportTargets);
};

/**
 * Problems of one packed tarball, as readable sentences; empty when it is fit to publish.
 *
 * @param files - paths inside the tarball, as `npm pack --json` lists them.
 * @param tarball - the `.tgz` file, read for its `package.json`.
 */
export const checkTarball = (files: readonly string[], tarball: string): string[] => {
  const problems: string[] = [];
  const shipped = new Set(files);
  const manifest = JSON.parse(
    execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }),
  ) as Record<string, unknown>;
  if (!files.some((file) => /^LICEN[CS]E/i.test(file))) problems.push('no LICENSE file in the tarball');
  for (const field of ['repository', 'homepage', 'bugs', 'license']) {
    if (manifest[field] === undefined) problems.push(`package.json has no "${field}"`);
  }
  const engines = (manifest.engines ?? {}) as Record<string, unknown>;
  if (engines.node !== SUPPORTED_NODE) {
    problems.push(`engines.node is ${JSON.stringify(engines.node)}, CI proves "${SUPPORTED_NODE}"`);
  }
  for (const target of exportTargets(manifest.exports)) {
    const path = target.replace(/^\.\//, '');
    if (!shipped.has(path)) problems.push(`exports name ${target}, which the tarball does not ship`);
  }
  for (const file of files.filter((name) => name.endsWith('.map'))) {
    const map = JSON.parse(
      execFileSync('tar', ['-xzOf', tarball, `package/${file}`], { encoding: 'utf8' }),
    ) as {
      sources?: string[];
    };
    const base = file.split('/').slice(0, -1);
    for (const source of map.sources ?? []) {
      const resolved = [...base];
      for (const part of source.split('/')) {
        if (part === '..') resolved.pop();
        else if (part !== '.') resolved.push(part);
      }
      if (!shipped.has(resolved.join('/'))) {
        problems.push(`${file} points at ${source}, which the tarball does not ship`);
        break;
      }
    }
  }
  return problems;
};
