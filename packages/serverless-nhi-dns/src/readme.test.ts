import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KNOWN_OPTIONS } from './config.js';

const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md'), 'utf8');

/** The option names in the first column of the table under `heading`. */
const tableOptions = (heading: string): string[] => {
  const section = readme.split(/^#+ /m).find((part) => part.startsWith(heading)) ?? '';
  return [...section.matchAll(/^\| `([A-Za-z]+)`/gm)].map((match) => match[1]!);
};

describe('README', () => {
  it('documents every option of custom.nhi and functions.<fn>.nhi, and no other', () => {
    expect(tableOptions('`custom.nhi` (the service)').sort()).toEqual([...KNOWN_OPTIONS.service].sort());
    expect(tableOptions('`functions.<fn>.nhi` (each protected function)').sort()).toEqual(
      [...KNOWN_OPTIONS.function].sort(),
    );
    const alarmsRow = /^\| `alarms`.*$/m.exec(readme)?.[0] ?? '';
    for (const option of KNOWN_OPTIONS.alarms) expect(alarmsRow).toContain(option);
  });
});
