/**
 * The working state of a stable re-plan: the running plan's nodes, GPUs and slices, with each placement's
 * entry under the new fleet, and the operations the re-planner performs on it — growing a placement into free
 * time of its slice, shrinking it, and seating demand on slices that were free in the running plan (new
 * servers). A slice whose content must change is emptied and not reused in the same re-plan: its old server
 * keeps serving until its replacement elsewhere is ready.
 */
import type { Fleet, ModelSpec } from '../fleet/types';
import { candidatesOn, entryFor, sliceFacts, type SliceCandidate } from './placement-entry';
import type { Plan, PlanModel } from './types';

/** Rounds a share up to a multiple of 1e-6 (rule 3 holds on the printed numbers). */
export function ceilShare(x: number): number {
  return Math.ceil(x * 1e6 - 1e-6) / 1e6;
}

/** Rounds down to a multiple of 1e-6. */
export function floor6(x: number): number {
  return Math.floor(x * 1e6 + 1e-6) / 1e6;
}

/** Rounds a demand up to 6 decimals. */
export function ceil6(x: number): number {
  return Math.ceil(x * 1e6 - 1e-6) / 1e6;
}

export interface WPlacement {
  readonly name: string;
  readonly batch: number;
  readonly instances: number;
  share: number;
  rps: number;
  readonly throughput: number;
  readonly latencyMs: number;
  readonly memGiB: number;
}

export interface WSlice {
  readonly profile: string;
  readonly start: number;
  placements: WPlacement[];
  cache: boolean;
  /** Free in the running plan (no server): may take a new server. */
  readonly wasFree: boolean;
  /** Emptied by this re-plan: its running server stops once its traffic has moved; not reused now. */
  blocked: boolean;
  /** Its server is new in this re-plan (more models may join it). */
  fresh: boolean;
}

export interface WGpu {
  readonly id: string;
  readonly type: string;
  readonly node: string;
  readonly mig: boolean;
  readonly slices: WSlice[];
}

export interface WNode {
  readonly name: string;
  readonly instanceType: string;
  readonly gpuType: string;
  readonly migConfig: string;
  /** GPUs of the node that the plan does not list (idle), each with its slices (the node configuration's layout). */
  idle: IdleLayout[];
}

export type IdleLayout = readonly { readonly profile: string; readonly start: number }[];

export interface WState {
  nodes: WNode[];
  gpus: WGpu[];
  /** Next free numbers for new GPU ids and node names. */
  nextGpu: number;
  nextNode: number;
}

/** Highest `<prefix><n>` number among names (−1 when none). */
export function maxIndex(names: readonly string[], prefix: string): number {
  let max = -1;
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const k = Number(n.slice(prefix.length));
    if (Number.isInteger(k) && k > max) max = k;
  }
  return max;
}

/** Σ shares of a slice. */
export function sliceShare(s: WSlice): number {
  return s.placements.reduce((a, p) => a + p.share, 0);
}

/** Whether the placements of a slice satisfy the latency (rule 4) and memory (rule 5) rules of the fleet. */
export function sliceFits(
  fleet: Fleet,
  gpuType: string,
  profile: string,
  placements: readonly { name: string; latencyMs: number; memGiB: number }[],
): boolean {
  const facts = sliceFacts(gpuType, profile);
  if (!facts) return false;
  const latency = placements.reduce((a, p) => a + p.latencyMs, 0);
  const mem = fleet.processOverheadGiB + placements.reduce((a, p) => a + p.memGiB, 0);
  if (placements.length > 0 && mem > facts.memoryGiB + 1e-9) return false;
  const specs = new Map(fleet.models.map((m) => [m.name, m]));
  return placements.every((p) => latency <= fleet.latencyHeadroom * specs.get(p.name)!.latencySloMs + 1e-9);
}

/** Loads a running plan; `entry` of a placement is looked up under the new fleet (undefined when gone). */
export function loadState(previous: Plan, fleet: Fleet, idleOf: (nodeName: string) => IdleLayout[]): WState {
  const specs = new Map(fleet.models.map((m) => [m.name, m]));
  const gpus: WGpu[] = previous.gpus.map((g) => ({
    id: g.id,
    type: g.type,
    node: g.node,
    mig: g.mig,
    slices: g.slices.map((s) => ({
      profile: s.profile,
      start: s.start,
      cache: s.cache === true,
      wasFree: s.models.length === 0 && s.cache !== true,
      blocked: false,
      fresh: false,
      placements: s.models.map((m) => toPlacement(m, specs.get(m.name), g.type, s.profile)),
    })),
  }));
  const nodes: WNode[] = (previous.nodes ?? []).map((n) => ({
    name: n.name,
    instanceType: n.instanceType,
    gpuType: n.gpuType,
    migConfig: n.migConfig,
    idle: idleOf(n.name),
  }));
  return {
    nodes,
    gpus,
    nextGpu:
      maxIndex(
        previous.gpus.map((g) => g.id),
        'gpu-',
      ) + 1,
    nextNode:
      maxIndex(
        nodes.map((n) => n.name),
        'node-',
      ) + 1,
  };
}

function toPlacement(m: PlanModel, spec: ModelSpec | undefined, gpuType: string, profile: string): WPlacement {
  const e = spec ? entryFor(spec, gpuType, profile, m.batch, m.instances) : undefined;
  return {
    name: m.name,
    batch: m.batch,
    instances: m.instances,
    share: m.share,
    rps: m.rps,
    throughput: e?.throughput ?? 0,
    latencyMs: e?.latencyMs ?? Infinity,
    memGiB: spec ? spec.memoryGiB * m.instances : Infinity,
  };
}

/** A deep copy (for trial moves). */
export function cloneState(s: WState): WState {
  return {
    nodes: s.nodes.map((n) => ({ ...n, idle: [...n.idle] })),
    gpus: s.gpus.map((g) => ({ ...g, slices: g.slices.map((x) => ({ ...x, placements: x.placements.map((p) => ({ ...p })) })) })),
    nextGpu: s.nextGpu,
    nextNode: s.nextNode,
  };
}

/** Demand that still needs a seat: model → rps. */
export type Residual = Map<string, number>;

export function addResidual(r: Residual, name: string, rps: number): void {
  if (rps <= 1e-9) return;
  r.set(name, (r.get(name) ?? 0) + rps);
}

/** Empties a slice: its placements' demand becomes residual; it takes no new server in this re-plan. */
export function dissolve(s: WSlice, residual: Residual, keep: (name: string) => boolean): void {
  for (const p of s.placements) if (keep(p.name)) addResidual(residual, p.name, p.rps);
  s.placements = [];
  s.blocked = true;
  s.fresh = false;
}

/** Most rps a placement can serve with the free time of its slice, at utilization `t`. */
export function placementRoom(s: WSlice, p: WPlacement, t: number): number {
  const free = Math.max(0, 1 - sliceShare(s));
  return floor6((p.share + free) * t * p.throughput);
}

/** Sets a placement's demand, with the share it needs at utilization `t` (never above the slice's free time). */
export function setRps(s: WSlice, p: WPlacement, rps: number, t: number): void {
  const allowed = p.share + Math.max(0, 1 - sliceShare(s));
  let share = ceilShare(rps / (t * p.throughput));
  if (share > allowed + 1e-12) {
    share = floor6(allowed);
    rps = floor6(share * t * p.throughput);
  }
  p.share = Math.min(share, 1);
  p.rps = ceil6(rps) <= p.share * p.throughput * t + 1e-9 ? ceil6(rps) : rps;
}

/**
 * Seats residual demand on free slices of the state (those free in the running plan, and idle GPUs of its
 * nodes), new servers shared by several models where the latency, memory and time rules allow. Mutates
 * `residual` (what is seated leaves it). `allowNode` limits the nodes used.
 */
export function seatOnFreeSlices(
  state: WState,
  fleet: Fleet,
  residual: Residual,
  t: number,
  allowNode: (node: string) => boolean = () => true,
): void {
  const specs = new Map(fleet.models.map((m) => [m.name, m]));
  const opened: { gpu: WGpu; slice: WSlice }[] = [];
  for (const gpu of state.gpus) {
    if (!allowNode(gpu.node)) continue;
    for (const slice of gpu.slices) if (slice.fresh && !slice.blocked && slice.placements.length > 0) opened.push({ gpu, slice });
  }
  const names = [...residual.keys()].sort((a, b) => residual.get(b)! - residual.get(a)! || (a < b ? -1 : 1));
  const candCache = new Map<string, SliceCandidate[]>();
  const cands = (m: ModelSpec, gpuType: string, profile: string): SliceCandidate[] => {
    const k = `${m.name}|${gpuType}|${profile}`;
    let c = candCache.get(k);
    if (!c) {
      c = candidatesOn(fleet, m, gpuType, profile);
      candCache.set(k, c);
    }
    return c;
  };
  for (const name of names) {
    const spec = specs.get(name)!;
    let r = residual.get(name)!;
    // 1. servers opened in this call that can take it (best fit: fullest slice first)
    for (const o of opened) {
      if (r <= 1e-9) break;
      if (o.slice.placements.some((p) => p.name === name)) continue;
      const free = 1 - sliceShare(o.slice);
      if (free < 1e-4) continue;
      for (const c of cands(spec, o.gpu.type, o.slice.profile)) {
        const next = [...o.slice.placements, { name, latencyMs: c.latencyMs, memGiB: c.memGiB }];
        if (!sliceFits(fleet, o.gpu.type, o.slice.profile, next)) continue;
        const rps = Math.min(r, floor6(free * t * c.throughput));
        if (rps <= 1e-6) continue;
        const p: WPlacement = {
          name,
          batch: c.batch,
          instances: c.instances,
          share: 0,
          rps: 0,
          throughput: c.throughput,
          latencyMs: c.latencyMs,
          memGiB: c.memGiB,
        };
        o.slice.placements.push(p);
        setRps(o.slice, p, rps, t);
        r -= p.rps;
        break;
      }
    }
    // 2. free slices: the one whose best entry serves the rest with the least compute, else the largest
    while (r > 1e-9) {
      let pick: { gpu: WGpu; slice: WSlice; c: SliceCandidate; score: number } | undefined;
      for (const g of freeGpus(state, allowNode)) {
        for (const s of g.slices) {
          if (!s.wasFree || s.blocked || s.cache || s.placements.length > 0) continue;
          const c = cands(spec, g.type, s.profile)[0];
          if (!c) continue;
          const facts = sliceFacts(g.type, s.profile)!;
          const covers = c.throughput * t >= r;
          // covering the rest on the smallest slice first; else the most throughput
          const score = covers ? facts.fraction : 10 - c.throughput / 1e9;
          if (!pick || score < pick.score - 1e-12) pick = { gpu: g, slice: s, c, score };
        }
      }
      if (!pick) break;
      if (pick.gpu.id.startsWith('idle:')) pick = { ...pick, gpu: claimIdle(state, pick.gpu) };
      const slice = pick.gpu.slices.find(
        (x) => x.start === pick.slice.start && x.profile === pick.slice.profile && x.placements.length === 0 && !x.blocked,
      )!;
      const p: WPlacement = {
        name,
        batch: pick.c.batch,
        instances: pick.c.instances,
        share: 0,
        rps: 0,
        throughput: pick.c.throughput,
        latencyMs: pick.c.latencyMs,
        memGiB: pick.c.memGiB,
      };
      slice.placements.push(p);
      slice.fresh = true;
      setRps(slice, p, Math.min(r, floor6(t * p.throughput)), t);
      r -= p.rps;
      opened.push({ gpu: pick.gpu, slice });
    }
    if (r > 1e-9) residual.set(name, r);
    else residual.delete(name);
  }
}

/** Listed GPUs of allowed nodes, then their idle GPUs as `idle:` stand-ins (claimed on use). */
function freeGpus(state: WState, allowNode: (node: string) => boolean): WGpu[] {
  const out = state.gpus.filter((g) => allowNode(g.node));
  for (const n of state.nodes) {
    if (!allowNode(n.name)) continue;
    n.idle.forEach((layout, k) => {
      out.push({
        id: `idle:${n.name}:${k}`,
        type: n.gpuType,
        node: n.name,
        mig: n.migConfig !== 'all-disabled',
        slices: freeSlices(layout),
      });
    });
  }
  return out;
}

/** Turns an idle GPU stand-in into a listed GPU of its node with a new id. */
function claimIdle(state: WState, standIn: WGpu): WGpu {
  const [, nodeName, k] = standIn.id.split(':');
  const node = state.nodes.find((n) => n.name === nodeName)!;
  const layout = node.idle.splice(Number(k), 1)[0];
  const gpu: WGpu = {
    id: `gpu-${state.nextGpu++}`,
    type: node.gpuType,
    node: node.name,
    mig: node.migConfig !== 'all-disabled',
    slices: freeSlices(layout),
  };
  state.gpus.push(gpu);
  return gpu;
}

function freeSlices(layout: IdleLayout): WSlice[] {
  return layout.map((s) => ({
    profile: s.profile,
    start: s.start,
    placements: [],
    cache: false,
    wasFree: true,
    blocked: false,
    fresh: false,
  }));
}
