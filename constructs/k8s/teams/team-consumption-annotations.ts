/**
 * What each team consumes, written on the objects a platform engineer and a team look at
 * (docs/platform.md "Teams in shared pools"). The figures come from the plan (planner/team-consumption.ts):
 *
 * - every Triton Deployment of a shared pool: `gpufleet.io/team-consumption` (team → GPU-equivalents its models
 *   hold on the pool's slices) and `gpufleet.io/team-cost-per-hour` (team → US dollars per hour), JSON with sorted
 *   keys, and a label `team.gpufleet.io/<team>: "true"` per team with models on the pool (`kubectl get deploy -A -l
 *   team.gpufleet.io/payments` lists every pool holding payments models);
 * - the shared namespace's Namespace and ResourceQuota: the same two annotations, summed over its pools;
 * - each team's Namespace and ResourceQuota: `gpufleet.io/consumption`, the team's total and its part in shared
 *   pools with the namespace they run in, so a quota of 0 GPUs says where the team's GPUs are.
 */
import type { PlanTeamConsumption } from '../../planner/types';
import type { SharedPool } from './team-contract';
import type { TeamNamespace } from './team-namespace';
import type { TritonPool } from '../serving/triton-pool';

/** On shared objects: team → GPU-equivalents, e.g. `{"payments":0.1429,"search":0.0571}`. */
export const TEAM_CONSUMPTION_ANNOTATION = 'gpufleet.io/team-consumption';
/** On shared objects: team → cost per hour (USD), e.g. `{"payments":0.9829,"search":0.3929}`. */
export const TEAM_COST_ANNOTATION = 'gpufleet.io/team-cost-per-hour';
/** On a team's Namespace and ResourceQuota: its total and its part in shared pools. */
export const CONSUMPTION_ANNOTATION = 'gpufleet.io/consumption';
/** Label prefix on a shared pool's Deployment, one label per team it serves: `team.gpufleet.io/<team>: "true"`. */
export const SERVED_TEAM_LABEL_PREFIX = 'team.gpufleet.io/';

/** JSON with keys in sorted order at every level (annotations must be byte-identical run to run). */
export function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;

export interface TeamConsumptionAnnotationsProps {
  readonly consumption: PlanTeamConsumption;
  readonly sharedPools: readonly SharedPool[];
  /** Triton pools by name. */
  readonly pools: ReadonlyMap<string, { readonly pool: TritonPool }>;
  /** Team namespaces by team name (`shared` for the shared namespace). */
  readonly namespaces: ReadonlyMap<string, TeamNamespace>;
  readonly sharedNamespace: string;
}

/** Writes the consumption annotations and labels (see the file comment). */
export function annotateTeamConsumption(props: TeamConsumptionAnnotationsProps): void {
  const sharedTotals = new Map<string, { gpuEquivalents: number; costPerHour: number }>();
  for (const p of props.sharedPools) {
    const served = props.pools.get(p.name);
    if (!served || !p.consumption) continue;
    const meta = served.pool.deployment.metadata;
    meta.addAnnotation(
      TEAM_CONSUMPTION_ANNOTATION,
      sortedJson(Object.fromEntries(Object.entries(p.consumption).map(([t, c]) => [t, c.gpuEquivalents]))),
    );
    meta.addAnnotation(
      TEAM_COST_ANNOTATION,
      sortedJson(Object.fromEntries(Object.entries(p.consumption).map(([t, c]) => [t, c.costPerHour]))),
    );
    // the teams with models on this pool (`p.teams` is every team of its group of linked pools)
    for (const team of Object.keys(p.consumption)) meta.addLabel(`${SERVED_TEAM_LABEL_PREFIX}${team}`, 'true');
    for (const [team, c] of Object.entries(p.consumption)) {
      const t = sharedTotals.get(team) ?? { gpuEquivalents: 0, costPerHour: 0 };
      t.gpuEquivalents += c.gpuEquivalents;
      t.costPerHour += c.costPerHour;
      sharedTotals.set(team, t);
    }
  }
  const shared = props.namespaces.get('shared');
  if (shared && sharedTotals.size > 0) {
    const eq = sortedJson(Object.fromEntries([...sharedTotals].map(([t, c]) => [t, r4(c.gpuEquivalents)])));
    const cost = sortedJson(Object.fromEntries([...sharedTotals].map(([t, c]) => [t, r4(c.costPerHour)])));
    for (const o of [shared.namespace, shared.resourceQuota]) {
      o.metadata.addAnnotation(TEAM_CONSUMPTION_ANNOTATION, eq);
      o.metadata.addAnnotation(TEAM_COST_ANNOTATION, cost);
    }
  }
  for (const t of props.consumption.teams) {
    const ns = props.namespaces.get(t.team);
    if (!ns || t.team === 'shared') continue;
    const value = sortedJson({
      gpuEquivalents: t.gpuEquivalents,
      costPerHour: t.costPerHour,
      inSharedPools: { ...t.inSharedPools, namespace: props.sharedNamespace },
    });
    ns.namespace.metadata.addAnnotation(CONSUMPTION_ANNOTATION, value);
    ns.resourceQuota.metadata.addAnnotation(CONSUMPTION_ANNOTATION, value);
  }
}
