/**
 * The cdk8s app of `npm run synth` (`cdk8s synth`, cdk8s.yaml `app:`) as a function, so tests run it in-process.
 *
 * - With `GPUFLEET_FLEET` and `GPUFLEET_PLATFORM` set (paths, relative to the working folder): plans that fleet and
 *   renders it on that platform file — the same function as `gpufleet synth FLEET --platform PLATFORM` and the Pulumi
 *   program (`synthesizeFleet`): `<outdir>/gpufleet.k8s.yaml`, `<outdir>/model-repository/<model>/config.pbtxt` and
 *   `<outdir>/plan.json`.
 * - With neither: the default example platform (examples/default-platform.ts) into `<outdir>/default-platform.k8s.yaml`
 *   and its `config.pbtxt` files, as before.
 *
 * One without the other is an error. The files are read through the bounded reader and checked like the CLI checks
 * them; a problem throws an error carrying `problems` (one line each), and nothing is written.
 */
import { App } from 'cdk8s';
import { clipLine, FleetValidationError, parseFleet, readInputFile } from '../constructs/fleet';
import { loadPlatformFile, ModelRepository, synthesizeFleet } from '../constructs/k8s';
import { PlanError, plan as planFleet } from '../constructs/planner';
import { buildDefaultPlatform } from '../examples/default-platform';

/** The environment variables the app reads. */
export interface Cdk8sAppEnv {
  readonly GPUFLEET_FLEET?: string;
  readonly GPUFLEET_PLATFORM?: string;
}

/** An input problem of the app: one line per problem (exit 2 in stacks/main.ts). */
export class AppInputError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'AppInputError';
  }
}

/** Runs the app into `app` (its outdir: `CDK8S_OUTDIR`, which `cdk8s synth` sets, else dist/); returns what it rendered. */
export function runCdk8sApp(
  env: Cdk8sAppEnv,
  app: App = new App(),
): { readonly rendered: 'default-example' | 'fleet'; readonly files: readonly string[] } {
  const fleetFile = nonEmpty(env.GPUFLEET_FLEET);
  const platformFile = nonEmpty(env.GPUFLEET_PLATFORM);
  if (fleetFile === undefined && platformFile === undefined) {
    buildDefaultPlatform(app, 'default-platform');
    app.synth();
    const configs = ModelRepository.writeAllConfigs(app, app.outdir);
    return { rendered: 'default-example', files: ['default-platform.k8s.yaml', ...configs] };
  }
  if (fleetFile === undefined || platformFile === undefined) {
    throw new AppInputError([
      `${fleetFile === undefined ? 'GPUFLEET_FLEET' : 'GPUFLEET_PLATFORM'}: not set, ` +
        `while ${fleetFile === undefined ? 'GPUFLEET_PLATFORM' : 'GPUFLEET_FLEET'} is; ` +
        'set both (the fleet file and the platform file) or neither (the default example)',
    ]);
  }
  const problems: string[] = [];
  const collect = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (e) {
      const lines = (e as { problems?: unknown }).problems;
      if (!Array.isArray(lines)) throw e;
      problems.push(...lines.map((l) => clipLine(String(l))));
      return undefined;
    }
  };
  const fleet = collect(() => parseFleet(readInputFile(fleetFile, { what: 'GPUFLEET_FLEET' }), fleetFile));
  const platform = collect(() => loadPlatformFile(platformFile, 'GPUFLEET_PLATFORM'));
  if (!fleet || !platform) throw new AppInputError(problems);
  let plan;
  try {
    plan = planFleet(fleet);
  } catch (e) {
    if (e instanceof PlanError) throw new AppInputError(e.problems.map((p) => clipLine(`cannot plan fleet ${fleet.name}: ${p}`)));
    throw e;
  }
  const result = renderOrInputError(() => synthesizeFleet({ fleet, plan, platform, outdir: app.outdir, app }), fleet.name, platformFile);
  return { rendered: 'fleet', files: result.files };
}

/** Runs `fn`; a plain `Error` or one with `problems` (a platform the fleet cannot run on) becomes an `AppInputError`. */
function renderOrInputError<T>(fn: () => T, fleetName: string, platformFile: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FleetValidationError) throw new AppInputError(e.problems.map((p) => clipLine(p)));
    if (e instanceof Error && e.constructor === Error) {
      throw new AppInputError(
        e.message
          .split('\n')
          .filter((l) => l.length > 0)
          .map((l) => clipLine(`cannot render fleet ${fleetName} on ${platformFile}: ${l}`)),
      );
    }
    throw e;
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
