/**
 * Reads the six SLO scenarios of the ParvaGPU paper's artifact (Lee et al., SC 2024; repository
 * MunQ-Lee/ParvaGPU_SC24, MIT licence) at run time from a checkout of it — nothing of it is
 * committed to gpufleet. The directory is given by GPUFLEET_PARVAGPU_ARTIFACT (docs/planner.md,
 * "ParvaGPU artifact", says how to get it). Files read, as the artifact's own scheduler reads them
 * (src/data_load.c at commit 5f3de1e, get_data_from_csv):
 * - `SLO/SLO_req_rate.csv`, `SLO/SLO_latency.csv`: one line per scenario, no header, one column
 *   per model in the strcmp order of the file names in `prof_data/` (dir_list sorts them with
 *   qsort/strcmp); `N/A` = the model is not in the scenario. Rates are requests per second,
 *   latencies ms. (The C code reads both with atoi, so it drops the fraction of a latency such as 12.5 ms; we keep the
 *   value as written.)
 * - `deployment/SLO<n>/SLO<n>_ParvaGPU_deploy.csv`: ParvaGPU's own deployment map, header
 *   `Num instance,Num GPU,Model,Placement,Instance size,Batch size,Num proc`; its GPU count is the
 *   number of distinct (Num instance, Num GPU) pairs.
 * - `prof_data/*.csv`: only their names (the column order); the profile tables themselves are read
 *   from ../shared/profiles/parvagpu-a100-80gb when present (the same files), else from here.
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join, resolve } from 'path';

/** The environment variable naming the artifact's directory. */
export const ARTIFACT_ENV = 'GPUFLEET_PARVAGPU_ARTIFACT';

export interface ParvaScenario {
  /** `slo-1` .. `slo-6`. */
  readonly name: string;
  /** Models of the scenario: name (profile file without `.csv`), requests per second, latency SLO ms. */
  readonly models: readonly { name: string; rps: number; latencySloMs: number }[];
  /** GPUs of ParvaGPU's own deployment map; undefined when the file is absent. */
  readonly parvaGpus?: number;
}

export interface ParvaArtifact {
  readonly dir: string;
  /** Model names in column order (sorted profile file names without `.csv`). */
  readonly models: readonly string[];
  readonly scenarios: readonly ParvaScenario[];
}

/** The artifact's directory, or why it cannot be used (the bench prints that reason and skips). */
export function artifactDir(env: NodeJS.ProcessEnv = process.env): { dir?: string; skip?: string } {
  const raw = env[ARTIFACT_ENV];
  if (raw === undefined || raw.trim() === '') {
    return { skip: `${ARTIFACT_ENV} is not set (a checkout of MunQ-Lee/ParvaGPU_SC24; docs/planner.md, "ParvaGPU artifact")` };
  }
  const dir = resolve(raw);
  for (const f of ['SLO/SLO_req_rate.csv', 'SLO/SLO_latency.csv', 'prof_data']) {
    if (!existsSync(join(dir, f)))
      return { skip: `${ARTIFACT_ENV}=${raw}: ${join(dir, f)} is absent (expected a checkout of MunQ-Lee/ParvaGPU_SC24)` };
  }
  return { dir };
}

/** strcmp order (byte order), as the artifact's qsort. */
function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function csvRows(text: string): string[][] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => l.split(',').map((c) => c.trim()));
}

/** One cell of an SLO table: a number > 0, or undefined for `N/A`; anything else is an error naming file, line and column. */
function cell(file: string, line: number, col: number, raw: string | undefined): number | undefined {
  if (raw === undefined) throw new Error(`${file}:${line}: expected a column ${col + 1}, the line is shorter`);
  if (raw === 'N/A') return undefined;
  const v = Number(raw);
  if (!(raw !== '' && Number.isFinite(v) && v > 0))
    throw new Error(`${file}:${line} column ${col + 1}: expected a number > 0 or N/A, got ${JSON.stringify(raw)}`);
  return v;
}

/** GPUs of one ParvaGPU deployment map: distinct (Num instance, Num GPU) pairs. */
export function deploymentGpus(text: string, file: string): number {
  const rows = csvRows(text);
  const head = rows[0] ?? [];
  const node = head.indexOf('Num instance');
  const gpu = head.indexOf('Num GPU');
  if (node < 0 || gpu < 0)
    throw new Error(`${file}:1: expected columns "Num instance" and "Num GPU", got ${JSON.stringify(head.join(','))}`);
  const seen = new Set<string>();
  rows.slice(1).forEach((r, i) => {
    if (r[node] === undefined || r[gpu] === undefined || !/^\d+$/.test(r[node]) || !/^\d+$/.test(r[gpu])) {
      throw new Error(`${file}:${i + 2}: expected whole numbers in "Num instance" and "Num GPU", got ${JSON.stringify(r.join(','))}`);
    }
    seen.add(`${r[node]}/${r[gpu]}`);
  });
  return seen.size;
}

/** Reads the artifact's scenarios from `dir` (see the file comment); throws naming the file and line on a malformed table. */
export function readArtifact(dir: string): ParvaArtifact {
  const models = readdirSync(join(dir, 'prof_data'))
    .filter((f) => f.endsWith('.csv'))
    .sort(byBytes)
    .map((f) => f.slice(0, -4));
  const rateFile = join(dir, 'SLO/SLO_req_rate.csv');
  const latFile = join(dir, 'SLO/SLO_latency.csv');
  const rates = csvRows(readFileSync(rateFile, 'utf8'));
  const lats = csvRows(readFileSync(latFile, 'utf8'));
  if (rates.length !== lats.length)
    throw new Error(`${rateFile} has ${rates.length} scenario lines, ${latFile} ${lats.length}; expected the same`);
  const scenarios = rates.map((row, s): ParvaScenario => {
    for (const [file, r] of [
      [rateFile, row],
      [latFile, lats[s]],
    ] as const) {
      if (r.length !== models.length)
        throw new Error(`${file}:${s + 1}: expected ${models.length} columns (one per prof_data/*.csv), got ${r.length}`);
    }
    const out: { name: string; rps: number; latencySloMs: number }[] = [];
    models.forEach((name, i) => {
      const rps = cell(rateFile, s + 1, i, row[i]);
      const slo = cell(latFile, s + 1, i, lats[s][i]);
      if ((rps === undefined) !== (slo === undefined))
        throw new Error(`${rateFile} / ${latFile} line ${s + 1}, ${name}: N/A in one table only`);
      if (rps !== undefined && slo !== undefined) out.push({ name, rps, latencySloMs: slo });
    });
    const deploy = join(dir, `deployment/SLO${s + 1}/SLO${s + 1}_ParvaGPU_deploy.csv`);
    const parvaGpus = existsSync(deploy) ? deploymentGpus(readFileSync(deploy, 'utf8'), deploy) : undefined;
    return { name: `slo-${s + 1}`, models: out, ...(parvaGpus !== undefined ? { parvaGpus } : {}) };
  });
  return { dir, models, scenarios };
}
