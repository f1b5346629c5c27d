/**
 * A saved plan document (`gpufleet plan --json`, DESIGN.md "Plan document") read back from a file is
 * untrusted input, like a fleet file: `validatePlanDocument` checks every field's type and bounds before
 * any consumer (`gpufleet report --plan`, a renderer, `verifyPlan`) touches it, and names each problem with
 * its path and the value received (quoted, at most 100 characters):
 *
 *     gpus[0].slices[1].models[0].share: expected a number in [0, 1], got "0.5"
 *
 * Unknown keys are problems too (a typo must not pass silently). The checks are structural; whether the
 * plan fits its fleet (the six feasibility rules) is `verifyPlan`'s job, which can then rely on the types.
 */
import { GPU_TYPES } from '../catalog';
import { isDns1123Label } from '../fleet/names';
import { quote, quoteKey } from '../fleet/quote';
import type { Plan } from './types';

/** Bounds of the plan document's numbers (each a documented limit, not a guess about the fleet). */
export const PLAN_DOCUMENT_LIMITS = {
  /** Batch size and instance count: Triton's `max_batch_size` and `instance_group.count` are int32 (model_config.proto). */
  maxInt32: 2_147_483_647,
  /** Requests per second of one placement, of a cold model and of `belowRps`. */
  maxRps: 1e9,
  /** GPUs, nodes and baselines of one plan. */
  maxCount: 1_000_000,
  /** Cost per hour (USD) and GiB figures. */
  maxAmount: 1e9,
  /** Characters of one name (GPU id, node, profile, instance type, mig-parted config). */
  maxNameChars: 253,
  /** Characters of one note and of the tight bound's method. */
  maxNoteChars: 4096,
  /** Problems listed before the rest are only counted. */
  maxProblems: 50,
} as const;

/** Highest placement start on the memory-slice axis of any catalog GPU (7 on A100/H100/H200). */
const MAX_START = Math.max(...GPU_TYPES.map((g) => g.mig?.memorySlices ?? 1)) - 1;

/** GPU ids, node names, profiles, GPU types, instance types, mig-parted configs. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const NAME_EXPECTED = `a name (letters, digits, ".", "_", "+", "-"; at most ${PLAN_DOCUMENT_LIMITS.maxNameChars} characters)`;

type Obj = Record<string, unknown>;

class Checker {
  public readonly problems: string[] = [];
  public dropped = 0;

  add(problem: string): void {
    if (this.problems.length < PLAN_DOCUMENT_LIMITS.maxProblems) this.problems.push(problem);
    else this.dropped++;
  }

  bad(path: string, expected: string, value: unknown): void {
    const at = path ? `${path}: ` : '';
    this.add(value === undefined ? `${at}required, expected ${expected}` : `${at}expected ${expected}, got ${quote(value)}`);
  }

  /**
   * An object without keys beyond `required` and `optional`; undefined (and a problem) when it is no object.
   * The caller checks each required key (a missing one is reported by its own check, `required, expected ...`).
   */
  object(path: string, value: unknown, required: readonly string[], optional: readonly string[] = []): Obj | undefined {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.bad(path, `an object with ${required.join(', ')}`, value);
      return undefined;
    }
    const o = value as Obj;
    const allowed = [...required, ...optional];
    for (const key of Object.keys(o)) {
      if (!allowed.includes(key)) this.add(`${at(path, key)}: unknown key; allowed: ${allowed.join(', ')}`);
    }
    return o;
  }

  array(path: string, value: unknown, what: string): unknown[] | undefined {
    if (Array.isArray(value)) return value as unknown[];
    this.bad(path, `a list of ${what}`, value);
    return undefined;
  }

  name(path: string, value: unknown): string | undefined {
    if (typeof value === 'string' && value.length <= PLAN_DOCUMENT_LIMITS.maxNameChars && NAME.test(value)) return value;
    this.bad(path, NAME_EXPECTED, value);
    return undefined;
  }

  label(path: string, value: unknown): string | undefined {
    if (isDns1123Label(value)) return value;
    this.bad(path, 'a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters)', value);
    return undefined;
  }

  text(path: string, value: unknown): string | undefined {
    if (typeof value === 'string' && value.length <= PLAN_DOCUMENT_LIMITS.maxNoteChars) return value;
    this.bad(path, `a text of at most ${PLAN_DOCUMENT_LIMITS.maxNoteChars} characters`, value);
    return undefined;
  }

  boolean(path: string, value: unknown): boolean | undefined {
    if (typeof value === 'boolean') return value;
    this.bad(path, 'true or false', value);
    return undefined;
  }

  /** A finite number in [min, max]; `open` excludes min. */
  number(path: string, value: unknown, min: number, max: number, open = false): number | undefined {
    if (typeof value === 'number' && Number.isFinite(value) && (open ? value > min : value >= min) && value <= max) return value;
    this.bad(path, `a number in ${open ? '(' : '['}${min}, ${fmt(max)}]`, value);
    return undefined;
  }

  integer(path: string, value: unknown, min: number, max: number): number | undefined {
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    this.bad(path, `an integer in [${min}, ${fmt(max)}]`, value);
    return undefined;
  }
}

function fmt(n: number): string {
  return n >= 1e6 && Number.isInteger(Math.log10(n)) ? `1e${Math.log10(n)}` : String(n);
}

function at(path: string, key: string): string {
  return path ? `${path}.${quoteKey(key)}` : quoteKey(key);
}

const L = PLAN_DOCUMENT_LIMITS;

/**
 * Checks an untrusted plan document (parsed JSON). Returns the plan when it is well-formed, else the
 * problems (each `path: expected ..., got ...`; after 50, one line counting the rest).
 */
export function validatePlanDocument(doc: unknown): { plan?: Plan; problems: string[] } {
  const c = new Checker();
  const top = c.object('', doc, ['fleet', 'gpus', 'summary'], ['nodes', 'migConfigs', 'cold']);
  if (top) {
    c.label('fleet', top.fleet);
    const gpuIds = new Set<string>();
    const nodeNames = new Set<string>();
    checkGpus(c, top.gpus, gpuIds);
    if (top.nodes !== undefined) checkNodes(c, top.nodes, gpuIds, nodeNames);
    if (top.migConfigs !== undefined) checkMigConfigs(c, top.migConfigs);
    if (top.cold !== undefined) checkCold(c, top.cold, gpuIds);
    checkSummary(c, top.summary);
  }
  const problems = [...c.problems];
  if (c.dropped > 0) problems.push(`... and ${c.dropped} more problem${c.dropped === 1 ? '' : 's'}`);
  return problems.length > 0 ? { problems } : { plan: doc as Plan, problems };
}

function checkGpus(c: Checker, value: unknown, ids: Set<string>): void {
  const gpus = c.array('gpus', value, 'GPUs');
  gpus?.forEach((g, i) => {
    const p = `gpus[${i}]`;
    const gpu = c.object(p, g, ['id', 'type', 'node', 'mig', 'slices']);
    if (!gpu) return;
    const id = c.name(`${p}.id`, gpu.id);
    if (id !== undefined) {
      if (ids.has(id)) c.add(`${p}.id: ${quote(id)} is used by an earlier GPU; GPU ids are unique`);
      ids.add(id);
    }
    c.name(`${p}.type`, gpu.type);
    c.name(`${p}.node`, gpu.node);
    c.boolean(`${p}.mig`, gpu.mig);
    c.array(`${p}.slices`, gpu.slices, 'slices')?.forEach((s, j) => {
      const sp = `${p}.slices[${j}]`;
      const slice = c.object(sp, s, ['profile', 'start', 'models'], ['cache']);
      if (!slice) return;
      c.name(`${sp}.profile`, slice.profile);
      c.integer(`${sp}.start`, slice.start, 0, MAX_START);
      if (slice.cache !== undefined) c.boolean(`${sp}.cache`, slice.cache);
      c.array(`${sp}.models`, slice.models, 'models')?.forEach((m, k) => {
        const mp = `${sp}.models[${k}]`;
        const model = c.object(mp, m, ['name', 'batch', 'instances', 'share', 'rps']);
        if (!model) return;
        c.label(`${mp}.name`, model.name);
        c.integer(`${mp}.batch`, model.batch, 1, L.maxInt32);
        c.integer(`${mp}.instances`, model.instances, 1, L.maxInt32);
        c.number(`${mp}.share`, model.share, 0, 1);
        c.number(`${mp}.rps`, model.rps, 0, L.maxRps);
      });
    });
  });
}

function checkNodes(c: Checker, value: unknown, gpuIds: Set<string>, names: Set<string>): void {
  c.array('nodes', value, 'nodes')?.forEach((n, i) => {
    const p = `nodes[${i}]`;
    const node = c.object(p, n, ['name', 'instanceType', 'gpuType', 'migConfig', 'gpus']);
    if (!node) return;
    const name = c.name(`${p}.name`, node.name);
    if (name !== undefined) {
      if (names.has(name)) c.add(`${p}.name: ${quote(name)} is used by an earlier node; node names are unique`);
      names.add(name);
    }
    for (const k of ['instanceType', 'gpuType', 'migConfig']) c.name(`${p}.${k}`, node[k]);
    c.array(`${p}.gpus`, node.gpus, 'GPU ids')?.forEach((id, j) => {
      const ok = c.name(`${p}.gpus[${j}]`, id);
      if (ok !== undefined && !gpuIds.has(ok)) c.add(`${p}.gpus[${j}]: ${quote(ok)} is no GPU id of gpus`);
    });
  });
}

function checkDevices(c: Checker, path: string, value: unknown): void {
  c.array(path, value, 'GPU layouts')?.forEach((d, i) => {
    c.array(`${path}[${i}]`, d, 'slices')?.forEach((s, j) => {
      const sp = `${path}[${i}][${j}]`;
      const slice = c.object(sp, s, ['profile', 'start']);
      if (!slice) return;
      c.name(`${sp}.profile`, slice.profile);
      c.integer(`${sp}.start`, slice.start, 0, MAX_START);
    });
  });
}

function checkMigConfigs(c: Checker, value: unknown): void {
  c.array('migConfigs', value, 'node configurations')?.forEach((m, i) => {
    const p = `migConfigs[${i}]`;
    const cfg = c.object(p, m, ['name', 'gpuType', 'instanceType', 'devices', 'nodes']);
    if (!cfg) return;
    for (const k of ['name', 'gpuType', 'instanceType']) c.name(`${p}.${k}`, cfg[k]);
    checkDevices(c, `${p}.devices`, cfg.devices);
    c.integer(`${p}.nodes`, cfg.nodes, 1, L.maxCount);
  });
}

function checkCold(c: Checker, value: unknown, gpuIds: Set<string>): void {
  const cold = c.object('cold', value, ['belowRps', 'models', 'slices', 'hitRateTarget', 'cacheGiB', 'gpusWithSeats', 'gpusSaved']);
  if (!cold) return;
  c.number('cold.belowRps', cold.belowRps, 0, L.maxRps, true);
  c.number('cold.hitRateTarget', cold.hitRateTarget, 0, 1, true);
  c.number('cold.cacheGiB', cold.cacheGiB, 0, L.maxAmount);
  c.integer('cold.gpusWithSeats', cold.gpusWithSeats, 0, L.maxCount);
  c.integer('cold.gpusSaved', cold.gpusSaved, 0, L.maxCount);
  c.array('cold.models', cold.models, 'cold models')?.forEach((m, i) => {
    const model = c.object(`cold.models[${i}]`, m, ['name', 'rps'], ['batch', 'instances']);
    if (!model) return;
    c.label(`cold.models[${i}].name`, model.name);
    c.number(`cold.models[${i}].rps`, model.rps, 0, L.maxRps);
    // the cold entry (optional: plan documents written before the planner recorded it lack both)
    if (model.batch !== undefined || model.instances !== undefined) {
      c.integer(`cold.models[${i}].batch`, model.batch, 1, L.maxInt32);
      c.integer(`cold.models[${i}].instances`, model.instances, 1, L.maxInt32);
    }
  });
  c.array('cold.slices', cold.slices, 'cache slices')?.forEach((s, i) => {
    const p = `cold.slices[${i}]`;
    const slice = c.object(p, s, ['gpu', 'profile', 'start']);
    if (!slice) return;
    const gpu = c.name(`${p}.gpu`, slice.gpu);
    if (gpu !== undefined && !gpuIds.has(gpu)) c.add(`${p}.gpu: ${quote(gpu)} is no GPU id of gpus`);
    c.name(`${p}.profile`, slice.profile);
    c.integer(`${p}.start`, slice.start, 0, MAX_START);
  });
}

function checkSummary(c: Checker, value: unknown): void {
  const s = c.object(
    'summary',
    value,
    ['gpuCount', 'costPerHour', 'lowerBound', 'baselines'],
    ['nodeConfigurations', 'notes', 'tightBound', 'teamConsumption', 'byType', 'costLowerBound', 'costRatio'],
  );
  if (!s) return;
  c.integer('summary.gpuCount', s.gpuCount, 0, L.maxCount);
  c.number('summary.costPerHour', s.costPerHour, 0, L.maxAmount);
  c.number('summary.lowerBound', s.lowerBound, 0, L.maxCount);
  if (s.nodeConfigurations !== undefined) c.integer('summary.nodeConfigurations', s.nodeConfigurations, 0, L.maxCount);
  const b = c.object('summary.baselines', s.baselines, ['dedicated', 'noMig']);
  if (b) {
    c.integer('summary.baselines.dedicated', b.dedicated, 0, L.maxCount);
    c.integer('summary.baselines.noMig', b.noMig, 0, L.maxCount);
  }
  if (s.notes !== undefined) c.array('summary.notes', s.notes, 'texts')?.forEach((n, i) => c.text(`summary.notes[${i}]`, n));
  if (s.teamConsumption !== undefined) checkTeamConsumption(c, s.teamConsumption);
  // fleets offering several GPU types: per type figures, and the cost against the cheapest cost bound
  if (s.costLowerBound !== undefined) c.number('summary.costLowerBound', s.costLowerBound, 0, L.maxAmount);
  if (s.costRatio !== undefined) c.number('summary.costRatio', s.costRatio, 0, L.maxAmount);
  if (s.byType !== undefined) {
    c.array('summary.byType', s.byType, 'GPU types')?.forEach((raw, i) => {
      const p = `summary.byType[${i}]`;
      const t = c.object(p, raw, ['type', 'gpus', 'costPerHour'], ['lowerBound', 'tightBound', 'ratio']);
      if (!t) return;
      c.name(`${p}.type`, t.type);
      c.integer(`${p}.gpus`, t.gpus, 0, L.maxCount);
      c.number(`${p}.costPerHour`, t.costPerHour, 0, L.maxAmount);
      if (t.lowerBound !== undefined) c.number(`${p}.lowerBound`, t.lowerBound, 0, L.maxCount);
      if (t.tightBound !== undefined) c.number(`${p}.tightBound`, t.tightBound, 0, L.maxCount);
      if (t.ratio !== undefined) c.number(`${p}.ratio`, t.ratio, 0, L.maxAmount);
    });
  }
  if (s.tightBound !== undefined) {
    // DESIGN.md: { "gpus": 4.0, "method": "...", "seconds": 0.4 }; the planner adds costPerHour and solver, and writes
    // seconds only with PlanOptions.timings (a wall-clock figure would make plans differ run to run)
    const t = c.object('summary.tightBound', s.tightBound, ['gpus', 'method'], ['costPerHour', 'solver', 'seconds']);
    if (t) {
      c.number('summary.tightBound.gpus', t.gpus, 0, L.maxCount);
      c.text('summary.tightBound.method', t.method);
      if (t.costPerHour !== undefined) c.number('summary.tightBound.costPerHour', t.costPerHour, 0, L.maxAmount);
      if (t.solver !== undefined) c.text('summary.tightBound.solver', t.solver);
      if (t.seconds !== undefined) c.number('summary.tightBound.seconds', t.seconds, 0, L.maxAmount);
    }
  }
}

/** `summary.teamConsumption` (team-consumption.ts): teams with their GPU-equivalents and cost, unassigned, idle node GPUs. */
function checkTeamConsumption(c: Checker, value: unknown): void {
  const p = 'summary.teamConsumption';
  const tc = c.object(p, value, ['teams', 'unassigned', 'idleNodeGpus']);
  if (!tc) return;
  const consumption = (path: string, v: unknown, extra: readonly string[] = []): Obj | undefined => {
    const o = c.object(path, v, ['gpuEquivalents', 'costPerHour', ...extra]);
    if (!o) return undefined;
    c.number(`${path}.gpuEquivalents`, o.gpuEquivalents, 0, L.maxCount);
    c.number(`${path}.costPerHour`, o.costPerHour, 0, L.maxAmount);
    return o;
  };
  const names = new Set<string>();
  c.array(`${p}.teams`, tc.teams, 'teams')?.forEach((t, i) => {
    const tp = `${p}.teams[${i}]`;
    const team = consumption(tp, t, ['team', 'models', 'rps', 'inSharedPools', 'byGpuType']);
    if (!team) return;
    const name = c.label(`${tp}.team`, team.team);
    if (name !== undefined) {
      if (names.has(name)) c.add(`${tp}.team: ${quote(name)} is listed by an earlier entry; teams are listed once`);
      names.add(name);
    }
    c.integer(`${tp}.models`, team.models, 0, L.maxCount);
    c.number(`${tp}.rps`, team.rps, 0, L.maxRps);
    consumption(`${tp}.inSharedPools`, team.inSharedPools);
    // GPU type → GPU-equivalents: the keys are GPU type names, not a fixed set
    const byType = team.byGpuType;
    if (byType === null || typeof byType !== 'object' || Array.isArray(byType))
      c.bad(`${tp}.byGpuType`, 'an object of GPU type → GPU-equivalents', byType);
    else {
      for (const [type, v] of Object.entries(byType as Obj)) {
        if (c.name(`${tp}.byGpuType.${quoteKey(type)} (key)`, type) !== undefined)
          c.number(`${tp}.byGpuType.${quoteKey(type)}`, v, 0, L.maxCount);
      }
    }
  });
  consumption(`${p}.unassigned`, tc.unassigned);
  const idle = c.object(`${p}.idleNodeGpus`, tc.idleNodeGpus, ['gpus', 'costPerHour']);
  if (idle) {
    c.integer(`${p}.idleNodeGpus.gpus`, idle.gpus, 0, L.maxCount);
    c.number(`${p}.idleNodeGpus.costPerHour`, idle.costPerHour, 0, L.maxAmount);
  }
}
