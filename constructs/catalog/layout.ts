import { getMigProfile, resolveGpuType } from './gpu-types';
import type { GpuType, MigProfile, SlicePlacement } from './types';
import { compareText } from './text-order';

const label = (s: SlicePlacement, i: number): string => `slices[${i}] ${s.profile}@${s.start}`;

const range = (start: number, size: number): string => (size === 1 ? `${start}` : `${start}-${start + size - 1}`);

/**
 * Every problem of a MIG layout (empty = legal): unknown profile, a start that is not a legal
 * placement of its profile, overlap on the memory-slice axis, more instances of a profile than it
 * allows, more than one media-extension (`+me`) profile, and compute slices beyond the GPU's total.
 */
export function checkLayout(gpu: GpuType | string, slices: readonly SlicePlacement[]): string[] {
  const g = resolveGpuType(gpu);
  if (!g.mig || g.mig.profiles.length === 0) {
    return [
      `GPU type ${g.id} has no MIG profiles${g.migUnavailableReason ? ` (${g.migUnavailableReason})` : ''}; ` + 'use it as a whole GPU',
    ];
  }
  const problems: string[] = [];
  const known: Array<{ slice: SlicePlacement; index: number; profile: MigProfile }> = [];
  slices.forEach((slice, index) => {
    let profile: MigProfile;
    try {
      profile = getMigProfile(g, slice.profile);
    } catch (e) {
      problems.push(`slices[${index}]: ${(e as Error).message}`);
      return;
    }
    const placement = profile.placements.find((p) => p.start === slice.start);
    if (!placement) {
      problems.push(
        `${label(slice, index)}: ${profile.name} cannot start at ${slice.start} on ${g.id}; ` +
          `legal starts: ${profile.placements.map((p) => p.start).join(', ')}`,
      );
      return;
    }
    known.push({ slice, index, profile });
  });

  // overlap on the memory-slice axis, each pair once
  for (let a = 0; a < known.length; a++) {
    for (let b = a + 1; b < known.length; b++) {
      const x = known[a];
      const y = known[b];
      const lo = Math.max(x.slice.start, y.slice.start);
      const hi = Math.min(x.slice.start + x.profile.memorySlices, y.slice.start + y.profile.memorySlices);
      if (lo < hi) {
        problems.push(`${label(x.slice, x.index)} overlaps ${label(y.slice, y.index)} on memory slices ${range(lo, hi - lo)} of ${g.id}`);
      }
    }
  }

  const counts = new Map<string, number>();
  for (const k of known) counts.set(k.profile.name, (counts.get(k.profile.name) ?? 0) + 1);
  for (const [name, n] of [...counts].sort(([a], [b]) => compareText(a, b))) {
    const max = getMigProfile(g, name).maxInstances;
    if (n > max) problems.push(`${name}: ${n} instances, at most ${max} allowed on ${g.id}`);
  }

  const media = known.filter((k) => k.profile.mediaExtensions);
  if (media.length > 1) {
    problems.push(
      `at most one media-extension (+me) profile per GPU, got ${media.length}: ` + media.map((k) => label(k.slice, k.index)).join(', '),
    );
  }

  const compute = known.reduce((sum, k) => sum + k.profile.computeSlices, 0);
  if (compute > g.mig.computeSlices) {
    problems.push(`compute slices add up to ${compute}, more than the ${g.mig.computeSlices} of ${g.id}`);
  }
  return problems;
}

/** True when `checkLayout` finds no problem. */
export function isLegalLayout(gpu: GpuType | string, slices: readonly SlicePlacement[]): boolean {
  return checkLayout(gpu, slices).length === 0;
}

/**
 * Legal placements for a multiset of profile names, sorted by start; undefined when they cannot all
 * fit on one GPU. Deterministic backtracking, larger profiles first, lowest start first. Throws for
 * a profile name the GPU does not have.
 */
export function placeProfiles(gpu: GpuType | string, profiles: readonly string[]): SlicePlacement[] | undefined {
  const g = resolveGpuType(gpu);
  if (profiles.length === 0) return [];
  if (!g.mig || g.mig.profiles.length === 0) return undefined;
  const mig = g.mig;
  const items = profiles
    .map((name) => getMigProfile(g, name))
    .sort((a, b) => b.memorySlices - a.memorySlices || b.computeSlices - a.computeSlices || compareText(a.name, b.name));

  // cheap necessary conditions first
  const counts = new Map<string, number>();
  for (const p of items) counts.set(p.name, (counts.get(p.name) ?? 0) + 1);
  if (items.some((p) => counts.get(p.name)! > p.maxInstances)) return undefined;
  if (items.filter((p) => p.mediaExtensions).length > 1) return undefined;
  if (items.reduce((s, p) => s + p.computeSlices, 0) > mig.computeSlices) return undefined;
  if (items.reduce((s, p) => s + p.memorySlices, 0) > mig.memorySlices) return undefined;

  const starts: number[] = new Array<number>(items.length);
  const used: boolean[] = new Array<boolean>(mig.memorySlices).fill(false);
  const fits = (start: number, size: number): boolean => {
    for (let s = start; s < start + size; s++) if (s >= used.length || used[s]) return false;
    return true;
  };
  const mark = (start: number, size: number, v: boolean): void => {
    for (let s = start; s < start + size; s++) used[s] = v;
  };
  const place = (i: number): boolean => {
    if (i === items.length) return true;
    const p = items[i];
    // identical profiles take increasing starts: avoids trying permutations of the same layout
    const minStart = i > 0 && items[i - 1].name === p.name ? starts[i - 1] + 1 : 0;
    for (const pl of [...p.placements].sort((a, b) => a.start - b.start)) {
      if (pl.start < minStart || !fits(pl.start, pl.size)) continue;
      mark(pl.start, pl.size, true);
      starts[i] = pl.start;
      if (place(i + 1)) return true;
      mark(pl.start, pl.size, false);
    }
    return false;
  };
  if (!place(0)) return undefined;
  return items
    .map((p, i) => ({ profile: p.name, start: starts[i] }))
    .sort((a, b) => a.start - b.start || compareText(a.profile, b.profile));
}
