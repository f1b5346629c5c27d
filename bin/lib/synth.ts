/**
 * `gpufleet synth FLEET --platform PLATFORM.yaml [--out DIR]`: the user's own fleet rendered on the user's platform —
 * the plan, every Kubernetes object and each model's `config.pbtxt` — by the very function the cdk8s app
 * (`GPUFLEET_FLEET`/`GPUFLEET_PLATFORM`) and the Pulumi program (`gpufleet:platformFile`) call (`synthesizeFleet`).
 *
 * Everything is read, checked, planned and rendered into a new folder beside DIR first; only then does that folder
 * replace DIR. Bad input (fleet, platform file, a platform the fleet cannot run on, a DIR that is not empty and not a
 * rendering of `gpufleet synth`) is exit 2 with one line per problem, and nothing is written.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { CommandSpec, ParsedArgs } from './args';
import { CliInputError, EXIT_OK, problemsOf, usageError } from './errors';
import { inputLimit, MAX_INPUT_SIZE_FLAG } from './input-size';
import { writeStdout } from './output';

export const SYNTH: CommandSpec = {
  name: 'synth',
  summary:
    "Render a fleet on your platform: the plan, the Kubernetes manifests and each model's config.pbtxt " +
    '(what the cdk8s app renders for the same files).',
  positionals: [{ name: 'FLEET', description: 'the fleet file (YAML or JSON)' }],
  flags: [
    {
      name: 'platform',
      value: 'PLATFORM',
      description:
        'the platform file (YAML or JSON): cluster, node class, model repository, routes, scaling, cold tier, prerequisites ' +
        '(required; docs/platform-file.md)',
    },
    {
      name: 'out',
      value: 'DIR',
      description:
        'the folder to write (default: dist); it must not exist, be empty, or hold an earlier gpufleet synth rendering, which is replaced',
    },
    MAX_INPUT_SIZE_FLAG,
  ],
  details: [
    'Writes DIR/gpufleet.k8s.yaml (every object, in apply order), DIR/model-repository/<model>/config.pbtxt',
    '(upload each beside its model files) and DIR/plan.json (the plan document, as `gpufleet plan --out`).',
    'Nothing is written unless the fleet plans and the platform renders; then `gpufleet check DIR` proves the',
    'rendering would provision, schedule and scale.',
  ],
  examples: ['gpufleet synth examples/payments-and-vision.fleet.yaml --platform examples/platform.yaml --out out/', 'gpufleet check out'],
};

/** The entries of an earlier `gpufleet synth` rendering (`FLEET_CHART_ID`.k8s.yaml, plan.json, model-repository/). */
const RENDERING_ENTRIES = ['gpufleet.k8s.yaml', 'model-repository', 'plan.json'];

/** Checks --out before any work: absent, an empty folder, or an earlier rendering; returns whether it exists. */
function checkOutDir(out: string): boolean {
  const where = `--out "${out}"`;
  let st: fs.Stats;
  try {
    st = fs.lstatSync(out);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new CliInputError(`${where}: cannot check the path (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (st.isSymbolicLink())
    throw new CliInputError(`${where}: is a symbolic link; gpufleet does not write through links, give the folder itself`);
  if (!st.isDirectory()) throw new CliInputError(`${where}: is a file, expected a folder to write the rendering into`);
  const entries = fs.readdirSync(out).sort();
  if (entries.length === 0) return true;
  const foreign = entries.filter((e) => !RENDERING_ENTRIES.includes(e));
  if (foreign.length > 0 || !entries.includes('gpufleet.k8s.yaml')) {
    throw new CliInputError(
      `${where}: holds ${
        foreign.length > 0
          ? `${foreign
              .slice(0, 3)
              .map((e) => `"${e}"`)
              .join(', ')}${foreign.length > 3 ? ` and ${foreign.length - 3} more` : ''}`
          : 'files'
      }, ` + 'and is not an earlier gpufleet synth rendering; choose an empty or new folder',
    );
  }
  return true;
}

export async function runSynth(args: ParsedArgs): Promise<number> {
  const platformPath = args.flags.platform;
  if (typeof platformPath !== 'string')
    throw usageError('missing --platform PLATFORM: the platform file (examples/platform.yaml is one; docs/platform-file.md)', 'synth');
  const out = typeof args.flags.out === 'string' ? args.flags.out : 'dist';
  const fleetPath = args.positionals.FLEET;
  const maxBytes = inputLimit(args, 'synth');
  const exists = checkOutDir(out);

  /* eslint-disable @typescript-eslint/no-require-imports */
  const e = require('./engine') as typeof import('./engine');
  const k8s = require('../../constructs/k8s') as typeof import('../../constructs/k8s');
  /* eslint-enable @typescript-eslint/no-require-imports */
  // both files are checked before either's problems are printed: one run lists everything wrong with the input
  const problems: string[] = [];
  let fleet: ReturnType<typeof e.loadFleet> | undefined;
  let platform: ReturnType<typeof k8s.loadPlatformFile> | undefined;
  try {
    fleet = e.loadFleet(fleetPath, maxBytes);
  } catch (err) {
    if (!(err instanceof CliInputError)) throw err;
    problems.push(...err.problems);
  }
  try {
    platform = k8s.loadPlatformFile(platformPath, '--platform');
  } catch (err) {
    const lines = problemsOf(err);
    if (!lines) throw err;
    problems.push(...lines);
  }
  if (!fleet || !platform) throw new CliInputError(problems);
  const plan = e.planAndVerify(fleet);

  const abs = path.resolve(out);
  const parent = path.dirname(abs);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = path.join(parent, `.${path.basename(abs)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  let synthesis: ReturnType<typeof k8s.synthesizeFleet>;
  try {
    synthesis = k8s.synthesizeFleet({ fleet, plan, platform, outdir: tmp });
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    const lines = problemsOf(err);
    if (lines) throw new CliInputError(lines);
    if (err instanceof Error && err.constructor === Error) {
      throw new CliInputError(
        err.message
          .split('\n')
          .filter((l) => l.length > 0)
          .map((l) => `cannot render fleet ${fleet.name} on ${platformPath}: ${l}`),
      );
    }
    throw err;
  }
  // the new rendering replaces the old one only once it is complete
  if (exists) {
    const old = `${tmp}.old`;
    fs.renameSync(abs, old);
    fs.renameSync(tmp, abs);
    fs.rmSync(old, { recursive: true, force: true });
  } else {
    fs.renameSync(tmp, abs);
  }
  const shown = out.length > 1 ? out.replace(/\/+$/, '') : out;
  const configs = synthesis.files.filter((f) => f.endsWith('config.pbtxt')).length;
  await writeStdout(
    [
      `fleet ${fleet.name} on ${platformPath}: ${plan.summary.gpuCount} GPUs, $${plan.summary.costPerHour.toFixed(2)}/h`,
      `wrote ${shown}/gpufleet.k8s.yaml (${synthesis.objectCount} objects), ${shown}/plan.json, ` +
        `${shown}/model-repository/ (${configs} config.pbtxt)`,
      `next: gpufleet check ${shown}`,
      '',
    ].join('\n'),
  );
  return EXIT_OK;
}
