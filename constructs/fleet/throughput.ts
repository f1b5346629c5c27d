/**
 * `models[].throughputPerGpu`: requests/s on one whole GPU, per GPU type. A throughput measured on
 * one GPU type says nothing about another (an H100 serves several times what an L4 does), so the
 * figure is keyed by catalog GPU type and a model is planned only on the types it has a figure or
 * measured profiles for. A bare number is accepted, for compatibility, only in a fleet offering
 * exactly one GPU type.
 */
import { FLEET_LIMITS as L } from './limits';
import { findGpuType, gpuTypeIds, type GpuType } from '../catalog';
import { closest, Problems } from './checks';
import { describeValue } from './names';
import { quote } from './quote';
import type { ModelSpec } from './types';

/** The figure of a model for a GPU type (requests/s on one whole GPU), or undefined when it has none. */
export function throughputFigure(model: Pick<ModelSpec, 'throughputPerGpu'>, gpuType: string): number | undefined {
  const map = model.throughputPerGpu;
  if (map === undefined || !Object.prototype.hasOwnProperty.call(map, gpuType)) return undefined;
  const v = map[gpuType];
  return typeof v === 'number' && v > 0 && Number.isFinite(v) ? v : undefined;
}

/** `A`, `A and B`, `A, B and C`. */
export function listWords(items: readonly string[], conjunction = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}

/** A GPU type a mistyped key may have meant: a listed type first, then any catalog type. */
function didYouMean(key: string, listed: readonly string[]): string {
  const lower = key.toLowerCase();
  for (const pool of [listed, gpuTypeIds()]) {
    const near = closest(key, pool);
    if (near) return `did you mean "${near}"?`;
    const prefixed = pool.filter((id) => id.toLowerCase().startsWith(lower) || lower.startsWith(id.toLowerCase()));
    if (prefixed.length === 1) return `did you mean "${prefixed[0]}"?`;
    if (prefixed.length > 1) return `did you mean one of ${prefixed.join(', ')}?`;
  }
  return `known: ${gpuTypeIds().join(', ')}`;
}

/**
 * Validates `models[i].throughputPerGpu` against the fleet's listed GPU types. Returns the figures
 * by catalog id (keys sorted) when valid: a bare number becomes the figure of the fleet's only GPU
 * type; in a fleet offering several types a bare number is a problem naming the fix.
 * `profiled`: GPU types the model has valid profile rows for (suggests a type without them).
 */
export function checkThroughputPerGpu(
  p: Problems,
  path: string,
  value: unknown,
  listed: ReadonlyMap<string, GpuType>,
  profiled: ReadonlySet<string>,
): Record<string, number> | undefined {
  const types = [...listed.keys()].sort();
  if (typeof value === 'number') {
    const n = p.positive(path, value, L.maxRps);
    if (n === undefined) return undefined;
    if (types.length === 1) return { [types[0]]: n };
    if (types.length === 0) return undefined; // the gpus list has its own problem
    const example = types.find((t) => !profiled.has(t)) ?? types[0];
    p.add(
      `${path}: a single figure is ambiguous in a fleet offering ${listWords(types)}; ` +
        `write { ${example}: ${n} } with a figure per GPU type it was measured on ` +
        '(the model is planned only on types with a figure or profiles)',
    );
    return undefined;
  }
  const o = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  if (!o) {
    p.add(
      `${path}: expected a mapping of GPU type to requests/s on one whole GPU (e.g. { ${types[0] ?? 'H100-80GB'}: 900 })` +
        `${types.length === 1 ? ' or a number > 0' : ''}, got ${describeValue(value)}`,
    );
    return undefined;
  }
  const keys = Object.keys(o);
  p.keysRead += keys.length;
  if (keys.length === 0) {
    p.add(
      `${path}: expected at least one GPU type with its requests/s on one whole GPU ` +
        `(e.g. { ${types[0] ?? 'H100-80GB'}: 900 }), got an empty mapping`,
    );
    return undefined;
  }
  const before = p.all.length;
  const out: Record<string, number> = {};
  for (const key of keys.sort()) {
    const gpu = findGpuType(key);
    const at = `${path}.${/^[A-Za-z0-9._-]{1,64}$/.test(key) ? key : quote(key)}`;
    if (!gpu) {
      p.add(`${at}: unknown GPU type; ${didYouMean(key, types)}`);
      continue;
    }
    const n = p.positive(at, o[key], L.maxRps);
    if (n !== undefined) out[gpu.id] = n;
  }
  return p.all.length === before ? out : undefined;
}
