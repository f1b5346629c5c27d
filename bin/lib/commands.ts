/**
 * The gpufleet commands: `plan`, `report`, `check` and `router`, their specs (used for parsing and help)
 * and their handlers. Each handler validates everything before it writes anything.
 */
import * as fs from 'fs';
import * as path from 'path';
import { type CommandSpec, type ParsedArgs } from './args';
import { CliInputError, EXIT_INTERNAL, EXIT_OK, usageError } from './errors';
import { inputLimit, MAX_INPUT_SIZE_FLAG } from './input-size';
import { checkOutputFile, writeOutputFile, writeStdout } from './output';
import { REBALANCE } from './rebalance-spec';
import { SYNTH } from './synth';

export const PLAN: CommandSpec = {
  name: 'plan',
  summary: 'Plan a fleet file (YAML or JSON): which GPUs, how each is cut into MIG slices, which models share each slice.',
  positionals: [{ name: 'FLEET', description: 'the fleet file (YAML or JSON)' }],
  flags: [
    { name: 'json', description: 'print the plan document as JSON on stdout, and nothing else' },
    { name: 'out', value: 'FILE', description: 'write the plan document (JSON) to FILE, creating parent folders' },
    MAX_INPUT_SIZE_FLAG,
  ],
  details: [
    'Without --json, prints a summary: per GPU type the GPUs, slices by profile, models, utilisation,',
    'cost per hour, tight bound and savings against the dedicated and noMig baselines; then the node',
    'configurations and the teams. With --out, the JSON goes to FILE; stdout keeps the summary',
    '(or stays empty with --json).',
  ],
  examples: [
    'gpufleet plan examples/payments-and-vision.fleet.yaml',
    'gpufleet plan fleet.yaml --json > plan.json',
    'gpufleet plan fleet.yaml --out build/plan.json',
    'gpufleet plan fleet-10000-models.json --max-input-size 200MiB --json > plan.json',
  ],
};

export const REPORT: CommandSpec = {
  name: 'report',
  summary: 'Draw the plan of a fleet file as a self-contained HTML page (inline CSS and SVG, no script).',
  positionals: [{ name: 'FLEET', description: 'the fleet file (YAML or JSON)' }],
  flags: [
    { name: 'out', value: 'FILE', description: 'the HTML file to write (required; parent folders are created; "-" for stdout)' },
    {
      name: 'plan',
      value: 'PLAN',
      description: 'draw this saved plan document (from `gpufleet plan --json`) instead of planning again; it is checked against FLEET',
    },
    {
      name: 'from',
      value: 'RUNNING_PLAN',
      description:
        'draw the migration from this running plan to FLEET (as `gpufleet rebalance --from`): ' +
        "GPUs before and after, each model's capacity over the steps",
    },
    MAX_INPUT_SIZE_FLAG,
  ],
  details: [
    'The page shows the headline figures (GPUs, cost per hour, savings), the GPU count against the tight',
    'bound and the baselines, the teams, every node and GPU with its MIG slices to scale and the models in',
    "each slice (share of the slice's time as a bar; hover for batch, instances and rps), the node",
    'configurations and a model index.',
  ],
  examples: [
    'gpufleet report fleet.yaml --out plan.html',
    'gpufleet report fleet.yaml --plan plan.json --out plan.html',
    'gpufleet report --from running.json fleet.yaml --out migration.html',
  ],
};

export const ROUTER: CommandSpec = {
  name: 'router',
  summary: 'Run the model router: loads models onto Triton on first request and evicts the least recently used.',
  positionals: [],
  flags: [
    { name: 'config', value: 'FILE', description: 'the router configuration (YAML or JSON)' },
    { name: 'demo', description: 'try it without a GPU: the router in front of two local Triton stand-ins, with curl lines to paste' },
    { name: 'script', description: 'with --demo: send a fixed sequence of requests, print each cold load, hit and eviction, and exit' },
  ],
  details: [
    'Prints `listening on http://HOST:PORT` once it accepts connections; runs until stopped.',
    'With --demo the router listens on 127.0.0.1:9000 (admin 127.0.0.1:9001; --listen and --admin change them) until Ctrl-C.',
  ],
  examples: ['gpufleet router --config examples/router.yaml', 'gpufleet router --demo', 'gpufleet router --demo --script'],
};

export const CHECK: CommandSpec = {
  name: 'check',
  summary: 'Prove a rendering would provision, schedule and scale on a real cluster (Karpenter, device plugin, MIG manager, autoscalers).',
  positionals: [
    { name: 'DIR', description: 'the rendering: a directory of Kubernetes manifests (.yaml, .yml, .json), e.g. dist/ of npm run synth' },
  ],
  flags: [
    {
      name: 'previous',
      value: 'DIR',
      description: 'the rendering this one replaces: also report every NodePool whose MIG layout changed content under the same name',
    },
  ],
  details: [
    'Rules, by the upstream semantics of the consumers (FIDELITY.md): provisioning (Karpenter can launch a node',
    'for every GPU pod template: labels, taints, NodeOverlay capacity), scheduling (the node runs it: device-plugin',
    'resources for the layout, MIG strategy and time-slicing; GPU feature discovery labels), capacity (all GPU pods',
    'fit at minimum and maximum replicas within the NodePool limits, CPU and memory of a full node included), quota,',
    "layout (every layout legal and in the MIG manager's ConfigMap), autoscaling (targets exist, every metric is",
    'produced by something installed or declared), prerequisites, relayout (with --previous).',
    'Prints one line per finding (rule: object: problem) and a summary line. Exit codes: 0 no findings,',
    '1 findings, 2 bad input (no such directory, no manifests, unparsable YAML).',
  ],
  examples: ['npm run synth && gpufleet check dist', 'gpufleet check dist --previous build/last-release'],
};

export const COMMANDS: readonly CommandSpec[] = [PLAN, REPORT, REBALANCE, ROUTER, CHECK, SYNTH];

type Engine = typeof import('./engine');

function engine(): Engine {
  // Loaded on use, so that help and usage errors need none of the library.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./engine') as Engine;
}

/**
 * Fleet files from this size up (about 550 models with ~160 measured profile rows each) make the solver's worker
 * warm up with a small solve of its own while the file is read and checked here: their bound's LP comes well after
 * the warm-up ends, and its first solve is then as fast as a second one. Smaller fleets post their LP about when
 * HiGHS has loaded, so it could wait behind the warm-up; and up to 500 models the planner's thorough search packs
 * long after the LP is answered anyway.
 */
export const WARM_UP_SOLVE_BYTES = 8 << 20;

/**
 * Starts the solver's worker thread (it loads and compiles HiGHS) for a command that plans, before the engine's
 * modules load: the tight bound's LP, posted once the candidates are made, is then answered sooner. (The engine's
 * `loadFleet` starts it too, after its modules have loaded; starting twice is a no-op.)
 */
function startSolver(fleetPath: string | undefined): void {
  let bytes = 0;
  try {
    if (typeof fleetPath === 'string') bytes = fs.statSync(fleetPath).size;
  } catch {
    // no such file: reading it says so
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solver = require('../../constructs/planner/lp-solver') as typeof import('../../constructs/planner/lp-solver');
  solver.warmUpSolver({ baselineCompiler: true, warmUpSolve: bytes >= WARM_UP_SOLVE_BYTES });
}

export async function runPlan(args: ParsedArgs): Promise<number> {
  const maxBytes = inputLimit(args, 'plan');
  const fleetPath = args.positionals.FLEET;
  const out = args.flags.out;
  if (typeof out === 'string') checkOutputFile(out, { inputs: [fleetPath] }); // before the work, not after it
  startSolver(fleetPath);
  const e = engine();
  const fleet = e.loadFleet(fleetPath, maxBytes);
  const result = e.planAndVerify(fleet);
  const json = JSON.stringify(result, null, 2) + '\n';
  if (typeof out === 'string') writeOutputFile(out, json, { inputs: [fleetPath] });
  if (args.flags.json) {
    if (typeof out !== 'string') await writeStdout(json);
    return EXIT_OK;
  }
  const { buildPlanView } = await import('./plan-view');
  const { renderSummary } = await import('./summary-table');
  await writeStdout(
    renderSummary(buildPlanView(fleet, result, e.typeFigures(fleet, result))) +
      (typeof out === 'string' ? `\nplan document written to ${out}\n` : ''),
  );
  return EXIT_OK;
}

export async function runReport(args: ParsedArgs, version: string): Promise<number> {
  const out = args.flags.out;
  if (typeof out !== 'string') {
    throw usageError('missing --out FILE: the HTML page is written to a file ("--out -" for stdout)', 'report');
  }
  const maxBytes = inputLimit(args, 'report');
  if (args.flags.from !== undefined) {
    // the migration from a running plan (bin/lib/migration-report.ts)
    const { runMigrationReport } = await import('./migration-report');
    return runMigrationReport(args, version);
  }
  const e = engine();
  const fleetPath = args.positionals.FLEET;
  const planPath = args.flags.plan;
  if (out !== '-') checkOutputFile(out, { inputs: typeof planPath === 'string' ? [fleetPath, planPath] : [fleetPath] });
  const fleet = e.loadFleet(fleetPath, maxBytes);
  const result = typeof planPath === 'string' ? e.loadPlanFor(fleet, planPath, maxBytes) : e.planAndVerify(fleet);
  const { buildPlanView } = await import('./plan-view');
  const { renderReport } = await import('./html-report');
  const html = renderReport(buildPlanView(fleet, result, e.typeFigures(fleet, result)), {
    source: path.basename(fleetPath),
    version,
  });
  if (out === '-') {
    await writeStdout(html);
  } else {
    writeOutputFile(out, html, { inputs: typeof planPath === 'string' ? [fleetPath, planPath] : [fleetPath] });
    process.stderr.write(`report written to ${out}\n`);
  }
  return EXIT_OK;
}

/** `gpufleet check DIR [--previous DIR]`. */
export async function runCheck(args: ParsedArgs): Promise<number> {
  const { runCheckOn } = await import('./check-command');
  const previous = args.flags.previous;
  const { code, out } = runCheckOn(args.positionals.DIR, typeof previous === 'string' ? previous : undefined);
  await writeStdout(out);
  return code;
}

/**
 * `gpufleet router ...`: hands the words after `router` to the runtime's `runRouterCli`, which
 * parses its own flags. The runtime is loaded only here.
 */
export async function runRouter(argv: readonly string[]): Promise<number> {
  const runtimeDir = path.resolve(__dirname, '../../constructs/runtime');
  let runtime: { runRouterCli?: (argv: string[]) => Promise<number> };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    runtime = require(runtimeDir) as typeof runtime;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && e.message.includes(runtimeDir)) {
      process.stderr.write('gpufleet router: the model router is not part of this build (constructs/runtime is missing)\n');
      return EXIT_INTERNAL;
    }
    throw err;
  }
  if (typeof runtime.runRouterCli !== 'function') {
    process.stderr.write('gpufleet router: the model router is not part of this build (constructs/runtime does not export runRouterCli)\n');
    return EXIT_INTERNAL;
  }
  return runtime.runRouterCli([...argv]);
}

/** Rejects flags that only make sense together. */
export function checkPlanFlags(args: ParsedArgs): void {
  if (args.flags.out === '-') {
    throw new CliInputError('--out: "-" is not a file; use --json to print the plan document on stdout', { usage: true, command: 'plan' });
  }
}
