import {
  defaultInstanceType,
  findGpuType,
  findInstanceType,
  GpuType,
  gpuTypeIds,
  instanceTypesFor,
  pricePerGpuHour,
  sliceSizesOf,
  supportsMig,
} from '../catalog';
import { Problems } from './checks';
import { FirstRows } from './entry-key';
import { FLEET_LIMITS as L } from './limits';
import { describeValue, dns1123LabelProblem } from './names';
import { checkThroughputPerGpu, listWords } from './throughput';
import type { Fleet, FleetGpu, ModelSpec, ProfileEntry, SliceSize, TritonHints } from './types';

/** Defaults of the optional top-level fleet fields. */
export const FLEET_DEFAULTS = { latencyHeadroom: 0.5, processOverheadGiB: 0.6 } as const;

/** Slice sizes a profile entry may name: compute slices of a MIG instance, 7 = the whole GPU. */
export const SLICE_SIZES: readonly SliceSize[] = [1, 2, 3, 4, 7];

const TOP_KEYS = ['name', 'latencyHeadroom', 'processOverheadGiB', 'coldBelowRps', 'gpus', 'models'];
const GPU_KEYS = ['type', 'mig', 'pricePerGpuHour', 'instanceType'];
const MODEL_KEYS = ['name', 'team', 'rps', 'latencySloMs', 'memoryGiB', 'profiles', 'throughputPerGpu', 'triton'];
const PROFILE_KEYS = ['gpu', 'slice', 'batch', 'instances', 'throughput', 'latencyMs'];
const TRITON_KEYS = ['platform', 'maxBatchSize'];

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function instanceList(gpu: GpuType): string {
  const names = instanceTypesFor(gpu.id).map((i) => i.name);
  return names.length > 0 ? `instance types for ${gpu.id}: ${names.join(', ')}` : `the catalog has no instance type for ${gpu.id}`;
}

/** Validates one entry of `gpus`; returns its catalog GPU type when the type is known. */
function checkGpu(p: Problems, raw: unknown, path: string): GpuType | undefined {
  const o = p.object(path, raw);
  if (!o) return undefined;
  p.keys(path, o, GPU_KEYS);
  const type = p.required(path, o, 'type', 'a catalog GPU id');
  let gpu: GpuType | undefined;
  if (type !== undefined) {
    gpu = typeof type === 'string' ? findGpuType(type) : undefined;
    if (!gpu) p.add(`${path}.type: unknown GPU type ${describeValue(type)}; known: ${gpuTypeIds().join(', ')}`);
  }
  if (o.mig !== undefined) {
    const mig = p.boolean(`${path}.mig`, o.mig);
    if (mig === true && gpu && !supportsMig(gpu)) {
      p.add(
        `${path}.mig: ${gpu.id} has no MIG profiles in the catalog` +
          `${gpu.migUnavailableReason ? ` (${gpu.migUnavailableReason})` : ''}; expected false or absent, got true`,
      );
    }
  }
  if (o.pricePerGpuHour !== undefined) p.positive(`${path}.pricePerGpuHour`, o.pricePerGpuHour, L.maxPricePerGpuHour);
  let instancePrice: number | undefined;
  let instanceName: string | undefined;
  if (o.instanceType !== undefined) {
    const name = o.instanceType;
    const instance = typeof name === 'string' ? findInstanceType(name) : undefined;
    if (!instance) {
      p.add(`${path}.instanceType: unknown instance type ${describeValue(name)}` + (gpu ? `; ${instanceList(gpu)}` : ''));
    } else if (gpu && instance.gpuType !== gpu.id) {
      p.add(`${path}.instanceType: "${instance.name}" carries ${instance.gpuType}, not ${gpu.id}; ${instanceList(gpu)}`);
    } else {
      instanceName = instance.name;
      instancePrice = pricePerGpuHour(instance);
    }
  }
  if (gpu && o.pricePerGpuHour === undefined) {
    if (instanceName !== undefined && instancePrice === undefined) {
      p.add(`${path}.pricePerGpuHour: required, the catalog has no price for instance type ${instanceName}`);
    } else if (o.instanceType === undefined && !defaultInstanceType(gpu.id)) {
      p.add(`${path}.pricePerGpuHour: required, the catalog has no priced instance type for ${gpu.id}`);
    }
  }
  return gpu;
}

/** Validates one profile entry; true when it has no problem. */
function checkProfile(p: Problems, raw: unknown, path: string, listed: ReadonlyMap<string, GpuType>): boolean {
  const before = p.count;
  const o = p.object(path, raw);
  if (!o) return false;
  p.keys(path, o, PROFILE_KEYS);
  const gpuId = p.required(path, o, 'gpu', 'a GPU type listed in gpus');
  let gpu: GpuType | undefined;
  if (gpuId !== undefined) {
    const known = typeof gpuId === 'string' ? findGpuType(gpuId) : undefined;
    if (!known) {
      p.add(`${path}.gpu: unknown GPU type ${describeValue(gpuId)}; known: ${gpuTypeIds().join(', ')}`);
    } else if (!listed.has(known.id)) {
      p.add(`${path}.gpu: "${known.id}" is not listed in gpus (listed: ${[...listed.keys()].join(', ') || 'none'})`);
    } else {
      gpu = known;
    }
  }
  const slice = p.required(path, o, 'slice', `one of ${SLICE_SIZES.join(', ')}`);
  if (slice !== undefined) {
    const s = p.number(`${path}.slice`, slice, `one of ${SLICE_SIZES.join(', ')}`, (n) => (SLICE_SIZES as number[]).includes(n));
    if (s !== undefined && gpu) {
      const sizes = sliceSizesOf(gpu);
      if (!sizes.includes(s)) {
        p.add(
          `${path}.slice: ${gpu.id} has no ${s}-slice instance${supportsMig(gpu) ? '' : ' (it is used whole: slice 7)'}; ` +
            `expected one of ${sizes.join(', ')}, got ${s}`,
        );
      }
    }
  }
  for (const [key, max] of [
    ['batch', L.maxBatch],
    ['instances', L.maxInstances],
  ] as const) {
    const v = p.required(path, o, key, 'an integer > 0');
    if (v !== undefined) p.positiveInt(`${path}.${key}`, v, max);
  }
  for (const [key, max] of [
    ['throughput', L.maxRps],
    ['latencyMs', L.maxLatencyMs],
  ] as const) {
    const v = p.required(path, o, key, 'a number > 0');
    if (v !== undefined) p.positive(`${path}.${key}`, v, max);
  }
  return p.count === before;
}

const isPositive = (v: unknown, max: number): boolean => typeof v === 'number' && v > 0 && v <= max;
const isPositiveInt = (v: unknown, max: number): boolean => typeof v === 'number' && v > 0 && v <= max && Number.isInteger(v);

/**
 * The GPU types a fleet lists, as the profile-row check reads them: each type's tag (its place in the list,
 * which separates its rows in `FIRST_ROWS`) and slice sizes. Rows of one model usually all name one type, so
 * the last type looked up is kept and a row naming it again costs one string comparison, not a Map lookup.
 */
class ListedTypes {
  private readonly byId = new Map<string, { tag: number; sizes: readonly number[] }>();
  private lastId: string | undefined;
  private lastTag = -1;
  private lastSizes: readonly number[] = [];

  constructor(readonly listed: ReadonlyMap<string, GpuType>) {
    [...listed.values()].forEach((gpu, tag) => this.byId.set(gpu.id, { tag, sizes: sliceSizesOf(gpu) }));
  }

  /** The listed type ids, in tag order. */
  ids(): string[] {
    return [...this.byId.keys()];
  }

  /**
   * The tag of a profile row's GPU type when the row has no problem at all: exactly the known keys, a listed
   * GPU by its id, a slice size that GPU has, positive integers and numbers. -1 means "look closer":
   * `checkProfile` then names every problem.
   */
  validRowTag(raw: unknown): number {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return -1;
    const e = raw as Obj;
    let keys = 0;
    for (const k in e) {
      if (k !== 'gpu' && k !== 'slice' && k !== 'batch' && k !== 'instances' && k !== 'throughput' && k !== 'latencyMs') return -1;
      keys++;
    }
    const id = e.gpu;
    if (keys !== 6 || typeof id !== 'string') return -1;
    if (id !== this.lastId) {
      const type = this.byId.get(id);
      if (!type) return -1;
      this.lastId = id;
      this.lastTag = type.tag;
      this.lastSizes = type.sizes;
    }
    return this.lastSizes.includes(e.slice as number) &&
      isPositiveInt(e.batch, L.maxBatch) &&
      isPositiveInt(e.instances, L.maxInstances) &&
      isPositive(e.throughput, L.maxRps) &&
      isPositive(e.latencyMs, L.maxLatencyMs)
      ? this.lastTag
      : -1;
  }
}

/** The table `checkModel` finds repeated profile rows with, one model at a time. */
const FIRST_ROWS = new FirstRows();

/** Validates a model's `triton` settings; returns its `maxBatchSize` when it is valid. */
function checkTriton(p: Problems, path: string, raw: unknown): number | undefined {
  const t = p.object(path, raw);
  if (!t) return undefined;
  p.keys(path, t, TRITON_KEYS);
  if (t.platform !== undefined) p.string(`${path}.platform`, t.platform, L.maxPlatformChars);
  if (t.maxBatchSize === undefined) return undefined;
  return p.bounded(`${path}.maxBatchSize`, t.maxBatchSize, 'an integer >= 0', L.maxBatchSize, (n) => Number.isInteger(n) && n >= 0);
}

/** Validates `models[index]`; `names` maps model names seen so far to their index. */
function checkModel(p: Problems, raw: unknown, index: number, types: ListedTypes, names: Map<string, number>): void {
  const listed = types.listed;
  const path = `models[${index}]`;
  const o = p.object(path, raw);
  if (!o) return;
  p.keys(path, o, MODEL_KEYS);
  const name = p.required(path, o, 'name', 'a DNS-1123 label');
  if (name !== undefined) {
    const problem = dns1123LabelProblem(`${path}.name`, name);
    if (problem) p.add(problem);
    else if (names.has(name as string)) {
      p.add(`${path}.name: duplicate model name "${name as string}" (also models[${names.get(name as string)}])`);
    } else names.set(name as string, index);
  }
  const team = p.required(path, o, 'team', 'a DNS-1123 label');
  if (team !== undefined) {
    const problem = dns1123LabelProblem(`${path}.team`, team);
    if (problem) p.add(problem);
  }
  for (const [key, max] of [
    ['rps', L.maxRps],
    ['latencySloMs', L.maxLatencyMs],
    ['memoryGiB', L.maxMemoryGiB],
  ] as const) {
    const v = p.required(path, o, key, 'a number > 0');
    if (v !== undefined) p.positive(`${path}.${key}`, v, max);
  }

  const maxBatchSize = o.triton === undefined ? undefined : checkTriton(p, `${path}.triton`, o.triton);

  const profiles = o.profiles === undefined ? [] : p.array(`${path}.profiles`, o.profiles);
  if (profiles && profiles.length > L.maxProfilesPerModel) {
    p.add(`${path}.profiles: expected at most ${L.maxProfilesPerModel} entries, got ${profiles.length}`);
  }
  let largest: { batch: number; index: number } | undefined;
  // per GPU type (tagged by its place among the listed types), (slice, batch, instances) -> first row; no allocation per row
  const list = profiles ?? [];
  const seen = FIRST_ROWS;
  seen.reset(list.length);
  const profiled: boolean[] = [];
  for (let j = 0; j < list.length; j++) {
    const entry = list[j];
    // the common case, a valid row, is checked without building a path or a message
    let tag = types.validRowTag(entry);
    // a valid row's six keys (checkProfile counts those of the rows it reads)
    if (tag >= 0) p.keysRead += 6;
    else {
      if (!checkProfile(p, entry, `${path}.profiles[${j}]`, listed)) continue;
      // a valid row names a listed type
      tag = types.ids().indexOf((entry as ProfileEntry).gpu);
    }
    const e = entry as ProfileEntry;
    profiled[tag] = true;
    const had = seen.firstOrAdd(tag, e.slice, e.batch, e.instances, j);
    if (had >= 0) {
      p.add(
        `${path}.profiles[${j}]: duplicate entry for gpu ${e.gpu} slice ${e.slice} batch ${e.batch} instances ${e.instances} ` +
          `(also profiles[${had}])`,
      );
    }
    if (!largest || e.batch > largest.batch) largest = { batch: e.batch, index: j };
  }
  if (maxBatchSize !== undefined && largest && largest.batch > Math.max(maxBatchSize, 1)) {
    p.add(
      `${path}.triton.maxBatchSize: expected at least ${largest.batch} (the batch of ${path}.profiles[${largest.index}]), ` +
        `got ${maxBatchSize}`,
    );
  }
  const before = p.all.length;
  const figures =
    o.throughputPerGpu === undefined
      ? undefined
      : checkThroughputPerGpu(
          p,
          `${path}.throughputPerGpu`,
          o.throughputPerGpu,
          listed,
          new Set(types.ids().filter((_, t) => profiled[t])),
        );
  if (profiles && profiles.length === 0 && p.all.length === before && listed.size > 0) {
    // planned only on GPU types with profile rows or a figure: at least one offered type must have one
    const types = [...listed.keys()].sort();
    if (!types.some((t) => figures?.[t] !== undefined)) {
      const who = typeof name === 'string' ? ` (${name})` : '';
      const given = figures ? Object.keys(figures) : [];
      p.add(
        `${path}${who}: no profiles and no throughputPerGpu for ${listWords(types, 'or')}, the GPU types the fleet offers` +
          (given.length > 0 ? ` (throughputPerGpu names only ${listWords(given)})` : '') +
          `; give measured profiles or throughputPerGpu: { ${types[0]}: <requests/s on one whole GPU> }`,
      );
    }
  }
}

/**
 * Validates a parsed fleet document. Returns every problem at once (each naming its path and the
 * value received); `fleet`, with defaults resolved, only when there is none.
 */
export function validateFleet(input: unknown): { fleet?: Fleet; problems: string[] } {
  const { fleet, problems } = checkFleet(input);
  return fleet ? { fleet, problems } : { problems };
}

/**
 * `validateFleet`, also returning how many own keys of the document's mappings it read (each mapping once):
 * for a valid fleet, every mapping of the document.
 */
export function checkFleet(input: unknown): { fleet?: Fleet; problems: string[]; keysRead: number } {
  const p = new Problems();
  if (!isObj(input)) {
    p.add(`fleet: expected a mapping with name, gpus and models, got ${describeValue(input)}`);
    return { problems: p.list(), keysRead: p.keysRead };
  }
  p.keys('', input, TOP_KEYS);
  const name = p.required('', input, 'name', 'a DNS-1123 label');
  if (name !== undefined) {
    const problem = dns1123LabelProblem('name', name);
    if (problem) p.add(problem);
  }
  if (input.latencyHeadroom !== undefined) {
    p.number('latencyHeadroom', input.latencyHeadroom, 'a number in (0, 1]', (n) => n > 0 && n <= 1);
  }
  if (input.processOverheadGiB !== undefined) {
    p.bounded('processOverheadGiB', input.processOverheadGiB, 'a number >= 0', L.maxMemoryGiB, (n) => n >= 0);
  }
  if (input.coldBelowRps !== undefined) p.positive('coldBelowRps', input.coldBelowRps, L.maxRps);

  const listed = new Map<string, GpuType>();
  const gpuIndex = new Map<string, number>();
  const gpus = p.required('', input, 'gpus', 'a list of at least one GPU type');
  if (gpus !== undefined) {
    const list = p.array('gpus', gpus);
    if (list && list.length === 0) p.add('gpus: expected at least one GPU type, got an empty list');
    (list ?? []).forEach((raw, i) => {
      const gpu = checkGpu(p, raw, `gpus[${i}]`);
      if (!gpu) return;
      if (gpuIndex.has(gpu.id)) {
        p.add(`gpus[${i}].type: duplicate GPU type "${gpu.id}" (also gpus[${gpuIndex.get(gpu.id)}])`);
      } else {
        gpuIndex.set(gpu.id, i);
        listed.set(gpu.id, gpu);
      }
    });
  }

  const models = p.required('', input, 'models', 'a list of at least one model');
  if (models !== undefined) {
    const list = p.array('models', models);
    if (list && list.length === 0) p.add('models: expected at least one model, got an empty list');
    if (list && list.length > L.maxModels) p.add(`models: expected at most ${L.maxModels} models, got ${list.length}`);
    const names = new Map<string, number>();
    const types = new ListedTypes(listed);
    (list ?? []).forEach((raw, i) => checkModel(p, raw, i, types, names));
  }

  if (p.count > 0) return { problems: p.list(), keysRead: p.keysRead };
  return { fleet: resolve(input), problems: [], keysRead: p.keysRead };
}

/** Builds the resolved fleet from a document that passed validation. */
function resolve(input: Obj): Fleet {
  const gpus: FleetGpu[] = (input.gpus as Obj[]).map((g) => {
    const type = g.type as string;
    // no instanceType: the planner chooses the cheapest nodes for the GPUs it needs
    const instanceType = g.instanceType as string | undefined;
    const instance = instanceType !== undefined ? findInstanceType(instanceType) : undefined;
    const price = (g.pricePerGpuHour as number | undefined) ?? (instance ? pricePerGpuHour(instance) : undefined);
    return {
      type,
      mig: (g.mig as boolean | undefined) ?? supportsMig(type),
      ...(price !== undefined ? { pricePerGpuHour: price } : {}),
      ...(instanceType !== undefined ? { instanceType } : {}),
    };
  });
  const models: ModelSpec[] = (input.models as Obj[]).map((m) => {
    // a valid row has exactly the six keys of a ProfileEntry: the parsed object is used as it is
    const profiles = (m.profiles as ProfileEntry[] | undefined) ?? [];
    const t = m.triton as Obj | undefined;
    const triton: TritonHints | undefined =
      t === undefined
        ? undefined
        : {
            ...(t.platform !== undefined ? { platform: t.platform as string } : {}),
            ...(t.maxBatchSize !== undefined ? { maxBatchSize: t.maxBatchSize as number } : {}),
          };
    return {
      name: m.name as string,
      team: m.team as string,
      rps: m.rps as number,
      latencySloMs: m.latencySloMs as number,
      memoryGiB: m.memoryGiB as number,
      profiles,
      ...(m.throughputPerGpu !== undefined ? { throughputPerGpu: resolveFigures(m.throughputPerGpu, gpus) } : {}),
      ...(triton ? { triton } : {}),
    };
  });
  return {
    name: input.name as string,
    latencyHeadroom: (input.latencyHeadroom as number | undefined) ?? FLEET_DEFAULTS.latencyHeadroom,
    processOverheadGiB: (input.processOverheadGiB as number | undefined) ?? FLEET_DEFAULTS.processOverheadGiB,
    gpus,
    models,
    ...(input.coldBelowRps !== undefined ? { coldBelowRps: input.coldBelowRps as number } : {}),
  };
}

/** A valid `throughputPerGpu`: a bare number is the figure of the fleet's only GPU type; keys sorted. */
function resolveFigures(raw: unknown, gpus: readonly FleetGpu[]): Readonly<Record<string, number>> {
  if (typeof raw === 'number') return { [gpus[0].type]: raw };
  const o = raw as Record<string, number>;
  const out: Record<string, number> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}
