import { cpus, totalmem } from 'node:os';
import type { Figure, Measurement } from './figure.js';
import { round } from './stats.js';

/** The machine and runtime a run measured. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly node: string;
  readonly platform: string;
}

/** What `bench/results.json` holds. */
export interface BenchResults {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly quick: boolean;
  readonly machine: MachineInfo;
  readonly figures: readonly Figure[];
  /** Suites that threw, by name, with their error message. */
  readonly errors: Readonly<Record<string, string>>;
}

/** Describes this machine (cpu model from `os.cpus()`, Node version). */
export const machineInfo = (): MachineInfo => ({
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  cores: cpus().length,
  memoryGb: round(totalmem() / 2 ** 30, 1),
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
});

const digitsFor = (value: number): number => (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);

/** `median / p99 unit`, or `value unit` for single values. */
const formatMeasurement = (m: Measurement): string => {
  const median = round(m.median, digitsFor(m.median)).toLocaleString('en-US');
  if (m.p99 === undefined) return `${median} ${m.unit}`;
  return `${median} / ${round(m.p99, digitsFor(m.p99)).toLocaleString('en-US')} ${m.unit}`;
};

const verdict = (f: Figure): string => {
  if (f.target === undefined) return '-';
  const bound = f.target.on === 'subject' ? `${f.target.value} ${f.subject.unit}` : `${f.target.value}×`;
  return `${f.target.comparison} ${bound}: ${f.met === true ? '**met**' : '**missed**'}`;
};

const cell = (text: string): string => text.replaceAll('|', '\\|');

/** Renders the results as Markdown: the machine, one table row per figure, then how each was measured. */
export const renderMarkdown = (results: BenchResults): string => {
  const { machine } = results;
  const lines = [
    `Measured ${results.startedAt} on ${machine.cpu} (${machine.cores} cores, ${machine.memoryGb} GB), Node.js ${machine.node}, ${machine.platform}${results.quick ? ' — QUICK MODE: counts too small to judge speed' : ''}.`,
    'Times are median / p99 per call unless marked; every ratio compares with a baseline timed in the same process and run.',
    '',
    '| Figure | Measured (median / p99) | Baseline (median / p99) | Ratio | Target |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const f of results.figures) {
    const ratioName = f.ratioOf === 'subject/baseline' ? 'measured ÷ baseline' : 'baseline ÷ measured';
    lines.push(
      `| ${cell(f.title)} | ${cell(`${f.subject.label}: ${formatMeasurement(f.subject)}`)} | ${cell(`${f.baseline.label}: ${formatMeasurement(f.baseline)}`)} | ${f.ratio}× (${ratioName}) | ${verdict(f)} |`,
    );
  }
  lines.push('', 'How each figure was measured:', '');
  for (const f of results.figures) {
    const details =
      f.details === undefined
        ? ''
        : ` Details: ${Object.entries(f.details)
            .map(([key, value]) => `${key} = ${value}`)
            .join('; ')}.`;
    lines.push(`- **${f.title}** (${f.subject.count} samples): ${f.method}${details}`);
  }
  const failed = Object.entries(results.errors);
  if (failed.length > 0) {
    lines.push('', 'Benchmarks that failed:', '');
    for (const [name, message] of failed) lines.push(`- ${name}: ${message}`);
  }
  return `${lines.join('\n')}\n`;
};
