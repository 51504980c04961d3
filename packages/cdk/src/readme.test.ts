import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

/** The README's app, the first ```ts block, with `@nhi-dns/cdk` pointed at these sources. */
const readmeApp = (): string => {
  const readme = readFileSync(join(here, '..', 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error('README.md has no ```ts block');
  return block.replace("from '@nhi-dns/cdk'", "from './index.js'");
};

describe('README', () => {
  it('the complete CDK app type-checks (strict, NodeNext) against aws-cdk-lib and these constructs', () => {
    const config = ts.getParsedCommandLineOfConfigFile(
      join(root, 'tsconfig.tests.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
          throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
        },
      },
    );
    if (config === undefined) throw new Error('tsconfig.tests.json did not parse');
    const file = join(here, 'readme-app.ts');
    const source = readmeApp();
    const host = ts.createCompilerHost(config.options);
    const { getSourceFile, fileExists, readFile } = host;
    host.fileExists = (name) => name === file || fileExists.call(host, name);
    host.readFile = (name) => (name === file ? source : readFile.call(host, name));
    host.getSourceFile = (name, language, ...rest) =>
      name === file
        ? ts.createSourceFile(name, source, language, true)
        : getSourceFile.call(host, name, language, ...rest);
    const program = ts.createProgram({
      rootNames: [file],
      options: { ...config.options, types: ['node'] },
      host,
    });
    const problems = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const where =
        diagnostic.file === undefined || diagnostic.start === undefined
          ? ''
          : `${diagnostic.file.fileName}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1}: `;
      return `${where}${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  });
});
