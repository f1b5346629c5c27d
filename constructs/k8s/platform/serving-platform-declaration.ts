/**
 * The declaration a `ServingPlatform` renders, checked before any construct is made: the props' names and
 * defaults, the teams and node pools (hand-written, or rendered from the plan) sorted by name, who owns which
 * namespace and model, and the rules that tie pools to models (each team's pools load its own models; every
 * model is served). Pure functions.
 */
import { plan as planFleet } from '../../planner';
import { assertDnsLabel } from '../common/names';
import { byString } from '../common/order';
import type { SharedPool, Team, TeamPool } from '../teams/team-contract';
import { checkRegistrations } from './platform-builder';
import { PlannedPlatform, PlatformNodePool, planDeclaration } from './serving-platform-plan';
import type { ServingPlatformProps } from './serving-platform-props';
import type { ServedPool } from './serving-platform-serving';

/** The platform's namespaces and latency headroom, with their defaults. */
export interface PlatformSettings {
  readonly gatewayNamespace: string;
  readonly monitoringNamespace: string;
  readonly sharedNamespace: string;
  readonly latencyHeadroom: number;
}

/** The owner of a namespace of pools: a team, or `shared` for the plan's pools that mix teams' models. */
export interface NamespaceOwner {
  readonly name: string;
  readonly namespace: string;
  readonly group?: string;
  readonly team?: Team;
  readonly pools: readonly (TeamPool | SharedPool)[];
}

/** The declaration the platform renders (hand-written, or planned): node pools and teams sorted by name. */
export interface PlatformDeclaration {
  readonly planned?: PlannedPlatform;
  readonly nodePools: readonly PlatformNodePool[];
  readonly teams: readonly Team[];
  readonly sharedPools: readonly SharedPool[];
  /** The teams in order, then `shared` when there are shared pools. */
  readonly owners: readonly NamespaceOwner[];
}

/** The props' required parts and declared names checked; the namespaces and the latency headroom. */
export function checkedSettings(props: ServingPlatformProps): PlatformSettings {
  if (!props.cluster) throw new Error('cluster: expected { name, nodeRole } of the EKS cluster, got undefined');
  if (!props.repository) throw new Error('repository: expected ModelRepository.s3(...) or ModelRepository.pvc(...), got undefined');
  const givenTeams = props.teams ?? [];
  checkRegistrations(givenTeams, props.addOns ?? []);
  givenTeams.forEach((t, i) => {
    assertDnsLabel(`teams[${i}].name`, t.name);
    (t.models ?? []).forEach((m, j) => assertDnsLabel(`teams["${t.name}"].models[${j}].name`, m.name));
    (t.pools ?? []).forEach((p, j) => assertDnsLabel(`teams["${t.name}"].pools[${j}].name`, p.name));
  });
  (props.nodePools ?? []).forEach((np, i) => assertDnsLabel(`nodePools[${i}].name`, np.name));
  const sharedNamespace = props.sharedNamespace ?? props.plan?.sharedNamespace ?? 'serving-shared';
  assertDnsLabel('sharedNamespace', sharedNamespace);
  const latencyHeadroom = props.latencyHeadroom ?? props.plan?.fleet.latencyHeadroom ?? 0.5;
  if (typeof latencyHeadroom !== 'number' || !(latencyHeadroom > 0 && latencyHeadroom <= 1)) {
    throw new Error(`latencyHeadroom: expected a number in (0, 1], got ${JSON.stringify(props.latencyHeadroom)}`);
  }
  return {
    gatewayNamespace: props.gatewayNamespace ?? 'gateway-system',
    monitoringNamespace: props.monitoringNamespace ?? 'monitoring',
    sharedNamespace,
    latencyHeadroom,
  };
}

/** Step 1: the declaration, hand-written or rendered from the plan; node pool names unique. */
export function platformDeclaration(props: ServingPlatformProps, sharedNamespace: string): PlatformDeclaration {
  const givenTeams = props.teams ?? [];
  const planned: PlannedPlatform | undefined = props.plan
    ? planDeclaration(props.plan.fleet, props.plan.plan ?? planFleet(props.plan.fleet), givenTeams, {
        sharedNamespace,
        scaling: props.plan.scaling ?? props.defaultScaling,
        extraReplicas: props.plan.extraReplicas,
      })
    : undefined;
  const nodePools = [...(planned?.nodePools ?? []), ...(props.nodePools ?? [])].sort((a, b) => byString(a.name, b.name));
  const teams = [...(planned?.teams ?? givenTeams)].sort((a, b) => byString(a.name, b.name));
  const sharedPools = planned?.sharedPools ?? [];
  const seen = new Set<string>();
  for (const np of nodePools) {
    if (seen.has(np.name)) throw new Error(`nodePools: node pool "${np.name}" is declared more than once`);
    seen.add(np.name);
  }
  const owners: NamespaceOwner[] = teams.map((t) => ({
    name: t.name,
    namespace: t.namespace ?? t.name,
    group: t.group,
    team: t,
    pools: t.pools ?? [],
  }));
  if (sharedPools.length > 0) owners.push({ name: 'shared', namespace: sharedNamespace, group: 'gpufleet:platform', pools: sharedPools });
  return { planned, nodePools, teams, sharedPools, owners };
}

/** The team of each model; a model declared twice (by one team or two) is an error. */
export function modelOwners(teams: readonly Team[]): Map<string, string> {
  const ownerOfModel = new Map<string, string>();
  for (const team of teams) {
    for (const m of team.models) {
      const other = ownerOfModel.get(m.name);
      if (other !== undefined) {
        throw new Error(
          other === team.name
            ? `teams["${team.name}"].models: model "${m.name}" is declared more than once`
            : `teams["${team.name}"].models: model "${m.name}" is already declared by team "${other}"; ` +
                'model names are unique across the platform',
        );
      }
      ownerOfModel.set(m.name, team.name);
    }
  }
  return ownerOfModel;
}

/** No two owners share a namespace. */
export function checkNamespaceOwners(owners: readonly NamespaceOwner[]): void {
  const namespaceOwners = new Map<string, string>();
  for (const o of owners) {
    const other = namespaceOwners.get(o.namespace);
    if (other) throw new Error(`teams["${o.name}"].namespace: namespace "${o.namespace}" is already used by team "${other}"`);
    namespaceOwners.set(o.namespace, o.name);
  }
}

/** A team's pool loads only the team's own models. */
export function checkPoolModels(
  where: string,
  team: string,
  p: TeamPool,
  teamModels: ReadonlySet<string>,
  ownerOfModel: ReadonlyMap<string, string>,
): void {
  for (const m of p.models) {
    if (!teamModels.has(m)) {
      const owner = ownerOfModel.get(m);
      throw new Error(
        `${where}.models: pool "${p.name}" loads model "${m}", ` +
          (owner
            ? `which belongs to team "${owner}"`
            : `but no team declares it (team "${team}" has ${[...teamModels].sort().join(', ') || 'none'})`),
      );
    }
  }
}

/** The models of a team's hand-written cache pools, by name, with the GPU memory the router counts for each. */
export function cacheModels(team: string, declared: Team, own: readonly TeamPool[]): { name: string; memoryGiB: number }[] {
  return [...new Set(own.flatMap((p) => p.models))].sort(byString).map((name) => {
    const m = declared.models.find((x) => x.name === name)!;
    if (typeof m.memoryGiB !== 'number' || !(m.memoryGiB > 0)) {
      throw new Error(
        `teams["${team}"].models["${name}"].memoryGiB: ` +
          `expected a number > 0 for a model of cache pool "${own.find((p) => p.models.includes(name))!.name}" (the router counts it), ` +
          `got ${JSON.stringify(m.memoryGiB)}`,
      );
    }
    return { name, memoryGiB: m.memoryGiB };
  });
}

/** Every declared model is served by some pool. */
export function checkEveryModelServed(teams: readonly Team[], pools: ReadonlyMap<string, ServedPool>): void {
  const served = new Set([...pools.values()].flatMap((p) => p.pool.models));
  for (const t of teams) {
    for (const m of t.models) {
      if (!served.has(m.name)) {
        throw new Error(
          `teams["${t.name}"].models: model "${m.name}" is served by no pool (pools of team "${t.name}": ${
            (t.pools ?? [])
              .map((p) => p.name)
              .sort()
              .join(', ') || 'none'
          }); add it to a pool or remove it`,
        );
      }
    }
  }
}
