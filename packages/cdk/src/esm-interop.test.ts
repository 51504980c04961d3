import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The bindings our (non-test) sources take from aws-cdk-lib and constructs, by module: named
 * imports, and `alias.Member` uses of namespace imports. aws-cdk-lib is CommonJS, and Node's ES
 * module loader sees only the names its static analysis finds; jest's loader sees every name,
 * so only a real `node` run can tell.
 */
const bindingsByModule = (): Map<string, Set<string>> => {
  const byModule = new Map<string, Set<string>>();
  const add = (module: string, name: string) => {
    if (!byModule.has(module)) byModule.set(module, new Set());
    byModule.get(module)?.add(name);
  };
  const sources = readdirSync(here).filter(
    (file) => file.endsWith('.ts') && !file.includes('.test.') && !file.includes('.test-helper.'),
  );
  for (const file of sources) {
    const text = readFileSync(join(here, file), 'utf8');
    for (const [, names, module] of text.matchAll(
      /^import \{([^}]*)\} from '((?:aws-cdk-lib|constructs)[^']*)';/gm,
    )) {
      for (const entry of (names ?? '').split(',')) {
        const name = entry.trim();
        if (name !== '' && !name.startsWith('type '))
          add(module as string, name.split(/\s+as\s+/)[0] as string);
      }
    }
    for (const [, alias, module] of text.matchAll(
      /^import \* as (\w+) from '((?:aws-cdk-lib|constructs)[^']*)';/gm,
    )) {
      for (const [, member] of text.matchAll(new RegExp(`\\b${alias}\\.([A-Za-z_]\\w*)`, 'g'))) {
        // CDK names its interfaces I<Name> (IGrantable, IMetric): types, with nothing to import at run time.
        if (!/^I[A-Z]/.test(member as string)) add(module as string, member as string);
      }
    }
  }
  return byModule;
};

describe('ES module interop with aws-cdk-lib (CommonJS)', () => {
  it('every binding our sources use is a named export under Node ES modules', () => {
    const byModule = bindingsByModule();
    expect(byModule.size).toBeGreaterThanOrEqual(5);
    const wanted = Object.fromEntries([...byModule].map(([module, names]) => [module, [...names]]));
    const script = `
      const wanted = ${JSON.stringify(wanted)};
      const missing = [];
      for (const [module, names] of Object.entries(wanted)) {
        const loaded = await import(module);
        for (const name of names) if (!(name in loaded)) missing.push(module + ': ' + name);
      }
      console.log(JSON.stringify(missing));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: here,
      encoding: 'utf8',
      // A synchronous child the test timeout cannot interrupt: bound it, so a stuck one fails.
      timeout: 120_000,
    });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual([]);
  });
});
