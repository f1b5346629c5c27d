/**
 * The gpufleet command line: help, version, dispatch to the commands, and the mapping of errors
 * to exit codes: 0 success; 1 internal error (stack with GPUFLEET_DEBUG=1); 2 bad input (usage,
 * unreadable file, invalid fleet: one line per problem on stderr, nothing written).
 */
import * as fs from 'fs';
import * as path from 'path';
import { setFlagsFromString } from 'v8';
import { closest, commandHelp, parseArgs, wantsHelp, type CommandSpec } from './args';
import { CHECK, checkPlanFlags, COMMANDS, PLAN, REPORT, ROUTER, runCheck, runPlan, runReport, runRouter } from './commands';
import { REBALANCE } from './rebalance-spec';
import { SYNTH } from './synth';
import { CliInputError, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, usageError } from './errors';

/** The package version: from the package.json above this file (bin/lib in the sources, lib/bin/lib compiled). */
export function version(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'gpufleet') return pkg.version;
    }
    if (path.dirname(dir) === dir) throw new Error(`no package.json of gpufleet above ${__dirname}`);
  }
}

export function mainHelp(): string {
  const rows: [string, string][] = [
    ['plan FLEET [--json] [--out FILE]', 'plan a fleet file: a summary table, or the plan document as JSON'],
    ['report FLEET --out FILE.html', 'draw the plan as a self-contained HTML page'],
    ['synth FLEET --platform PLATFORM [--out DIR]', 'render a fleet on your platform: plan, manifests, config.pbtxt files'],
    ['check DIR [--previous DIR]', 'prove a rendering (dist/) would provision, schedule and scale; exit 1 on findings'],
    ['rebalance --from RUNNING FLEET [--json]', 'the checked migration from the running plan to a new one'],
    ['router --config FILE', 'run the model router (loads models onto Triton on demand)'],
    ['router --demo [--script]', 'try the router on local Triton stand-ins: a cold load, a hit, an eviction'],
    ['help [COMMAND]', 'show help for gpufleet or a command'],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  return [
    'gpufleet: serve hundreds of models on shared NVIDIA GPUs — plan MIG slices and Triton pools from a fleet file',
    '',
    'usage: gpufleet <command> [arguments] [flags]',
    '',
    'commands:',
    ...rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`),
    '',
    'flags:',
    "  --help, -h     show help (after a command: that command's help)",
    '  --version, -V  print the version',
    '',
    'exit codes: 0 success, 1 internal error (set GPUFLEET_DEBUG=1 for the stack trace),',
    '            2 bad input: usage, unreadable file, or a fleet file with problems (one line each on stderr)',
    '',
    'Run `gpufleet <command> --help` for the flags of a command.',
    '',
  ].join('\n');
}

function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

async function dispatch(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(mainHelp());
    return EXIT_INPUT;
  }
  if (first === '--help' || first === '-h') {
    process.stdout.write(mainHelp());
    return EXIT_OK;
  }
  if (first === '--version' || first === '-V') {
    process.stdout.write(`${version()}\n`);
    return EXIT_OK;
  }
  if (first === 'help') {
    if (rest.length === 0) {
      process.stdout.write(mainHelp());
      return EXIT_OK;
    }
    const spec = findCommand(rest[0]);
    if (!spec || rest.length > 1)
      throw usageError(`help: unknown command "${rest.join(' ')}"; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
    process.stdout.write(commandHelp(spec));
    return EXIT_OK;
  }
  if (first.startsWith('-')) {
    throw usageError(`unknown flag "${first}"; a command comes first: ${COMMANDS.map((c) => c.name).join(', ')}`);
  }
  const spec = findCommand(first);
  if (!spec) {
    const names = COMMANDS.map((c) => c.name);
    const guess = closest(first, names);
    throw usageError(`unknown command "${first}"; ${guess ? `did you mean ${guess}? ` : ''}commands: ${names.join(', ')}`);
  }
  if (spec === ROUTER) {
    // the router parses its own flags (and answers its own --help when it is available)
    return runRouter(rest);
  }
  if (wantsHelp(rest)) {
    process.stdout.write(commandHelp(spec));
    return EXIT_OK;
  }
  const args = parseArgs(spec, rest);
  if (spec === PLAN) {
    checkPlanFlags(args);
    return runPlan(args);
  }
  if (spec === REPORT) return runReport(args, version());
  if (spec === CHECK) return runCheck(args);
  if (spec === SYNTH) return (await import('./synth')).runSynth(args);
  if (spec === REBALANCE) return (await import('./rebalance')).runRebalance(args);
  throw new Error(`command "${spec.name}" has no handler`);
}

/** Runs the CLI with `argv` (the words after `gpufleet`); resolves to the exit code. Never throws. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (err) {
    if (err instanceof CliInputError) {
      process.stderr.write(err.problems.map((p) => `${p}\n`).join(''));
      if (err.showUsageHint) {
        process.stderr.write(`run "gpufleet ${err.command ? `${err.command} ` : ''}--help" for usage\n`);
      }
      return EXIT_INPUT;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    process.stderr.write(`gpufleet: internal error: ${e.message}\n`);
    if (process.env.GPUFLEET_DEBUG === '1') {
      process.stderr.write(`${e.stack ?? ''}\n`);
    } else {
      process.stderr.write('this is a bug in gpufleet; run again with GPUFLEET_DEBUG=1 for the stack trace\n');
    }
    return EXIT_INTERNAL;
  }
}

/**
 * Commands that are finished when `main` resolves: everything they print has been written (each write is awaited)
 * and nothing of theirs runs after. The process exits at once after them instead of tearing down the heap and
 * the solver's worker thread (tens of milliseconds of CPU on a 1,000-model fleet). The router
 * keeps serving after its command resolves, so it is not one of them.
 */
const DONE_WHEN_RESOLVED: ReadonlySet<string> = new Set(['plan', 'report']);

/**
 * V8 settings for the commands that plan once and exit. V8 hands a function to its optimising compiler once the function
 * has run through its interrupt budget of bytecode a few times; Node.js 20's default budget (66 KiB) suits a server
 * that runs for hours. A plan of a large fleet runs for about a second, and most of the code it runs is hot only for a
 * moment: with the default budget, the optimising compiler's threads spend ~0.5 s of CPU compiling code that has
 * finished by the time it is optimised, beside the planner and the solver's worker on a 2-core machine. With a
 * budget four times larger, only code that stays hot is optimised (docs/planner.md, "A fourth pass"). The router,
 * a server, keeps V8's defaults. Set by `run` (a process of its own), never by `main`, which tests call in-process.
 */
const ONE_SHOT_COMMANDS: ReadonlySet<string> = new Set(['plan', 'report', 'rebalance']);
export const ONE_SHOT_V8_FLAGS: readonly string[] = ['--interrupt-budget=262144'];

/** Entry point: runs `main` on process.argv and sets the exit code (output is flushed, not cut). */
export function run(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_OK);
  });
  const argv = process.argv.slice(2);
  if (ONE_SHOT_COMMANDS.has(argv[0])) for (const flag of ONE_SHOT_V8_FLAGS) setFlagsFromString(flag);
  main(argv).then(
    (code) => {
      process.exitCode = code;
      if (DONE_WHEN_RESOLVED.has(argv[0])) process.exit(code);
    },
    (e) => {
      process.stderr.write(`gpufleet: internal error: ${String(e)}\n`);
      process.exitCode = EXIT_INTERNAL;
    },
  );
}
