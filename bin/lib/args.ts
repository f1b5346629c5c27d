/**
 * A small, strict argument parser for the gpufleet commands: unknown flags, repeated flags,
 * missing values and extra arguments are usage errors (exit code 2), never ignored.
 */
import { usageError } from './errors';

export interface FlagSpec {
  /** Long name without dashes, e.g. `out`. */
  readonly name: string;
  /** Name of the value in help text (`FILE`); absent for a boolean flag. */
  readonly value?: string;
  readonly description: string;
}

export interface PositionalSpec {
  /** Name in help text, e.g. `FLEET`. */
  readonly name: string;
  readonly description: string;
}

export interface CommandSpec {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  readonly positionals: readonly PositionalSpec[];
  readonly flags: readonly FlagSpec[];
  /** Extra help paragraphs. */
  readonly details?: readonly string[];
  /** Examples shown in help. */
  readonly examples?: readonly string[];
}

export interface ParsedArgs {
  /** Positional values by spec name. */
  readonly positionals: Readonly<Record<string, string>>;
  /** Flag values by name: a string for flags with a value, `true` for boolean flags. */
  readonly flags: Readonly<Record<string, string | true>>;
}

/** `--help` / `-h` anywhere before `--`. */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** Parses `argv` (the words after the command name) against `spec`. */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const flags: Record<string, string | true> = {};
  const rest: string[] = [];
  const byName = new Map(spec.flags.map((f) => [f.name, f]));
  let onlyPositionals = false;

  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (onlyPositionals || word === '-' || !word.startsWith('-')) {
      rest.push(word);
      continue;
    }
    if (word === '--') {
      onlyPositionals = true;
      continue;
    }
    if (!word.startsWith('--')) {
      throw usageError(`unknown flag "${word}" for "gpufleet ${spec.name}"; allowed: ${flagList(spec)}`, spec.name);
    }
    const eq = word.indexOf('=');
    const name = word.slice(2, eq === -1 ? undefined : eq);
    const flag = byName.get(name);
    if (!flag) {
      const guess = closest(
        name,
        spec.flags.map((f) => f.name),
      );
      throw usageError(
        `unknown flag "--${name}" for "gpufleet ${spec.name}"; ${guess ? `did you mean --${guess}? ` : ''}` + `allowed: ${flagList(spec)}`,
        spec.name,
      );
    }
    if (name in flags) {
      throw usageError(`--${name}: given more than once`, spec.name);
    }
    if (!flag.value) {
      if (eq !== -1) throw usageError(`--${name}: takes no value, got "${word.slice(eq + 1)}"`, spec.name);
      flags[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) {
      value = word.slice(eq + 1);
    } else if (i + 1 < argv.length && (argv[i + 1] === '-' || !argv[i + 1].startsWith('-'))) {
      value = argv[++i];
    }
    if (value === undefined || value === '') {
      throw usageError(`--${name}: expected ${flag.value} after --${name}`, spec.name);
    }
    flags[name] = value;
  }

  const positionals: Record<string, string> = {};
  spec.positionals.forEach((p, idx) => {
    if (idx < rest.length) positionals[p.name] = rest[idx];
  });
  if (rest.length < spec.positionals.length) {
    const missing = spec.positionals
      .slice(rest.length)
      .map((p) => p.name)
      .join(' ');
    throw usageError(`missing argument ${missing}: usage: ${usageLine(spec)}`, spec.name);
  }
  if (rest.length > spec.positionals.length) {
    const extra = rest
      .slice(spec.positionals.length)
      .map((w) => `"${w}"`)
      .join(', ');
    throw usageError(`unexpected argument ${extra}: usage: ${usageLine(spec)}`, spec.name);
  }
  return { positionals, flags };
}

function flagList(spec: CommandSpec): string {
  return [...spec.flags.map((f) => `--${f.name}`), '--help'].join(', ');
}

/** `gpufleet plan FLEET [--json] [--out FILE]`. */
export function usageLine(spec: CommandSpec): string {
  const parts = ['gpufleet', spec.name, ...spec.positionals.map((p) => p.name)];
  for (const f of spec.flags) parts.push(`[--${f.name}${f.value ? ` ${f.value}` : ''}]`);
  return parts.join(' ');
}

/** Help text of one command. */
export function commandHelp(spec: CommandSpec): string {
  const lines = [`usage: ${usageLine(spec)}`, '', spec.summary];
  if (spec.details?.length) lines.push('', ...spec.details);
  const rows: [string, string][] = [
    ...spec.positionals.map((p): [string, string] => [p.name, p.description]),
    ...spec.flags.map((f): [string, string] => [`--${f.name}${f.value ? ` ${f.value}` : ''}`, f.description]),
    ['--help, -h', 'show this help'],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  lines.push('', 'arguments and flags:');
  for (const [k, v] of rows) lines.push(`  ${k.padEnd(width)}  ${v}`);
  if (spec.examples?.length) {
    lines.push('', 'examples:');
    for (const e of spec.examples) lines.push(`  ${e}`);
  }
  return lines.join('\n') + '\n';
}

/** The candidate within edit distance 2 of `word` (the nearest), for "did you mean" hints. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
