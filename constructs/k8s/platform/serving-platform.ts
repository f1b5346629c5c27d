/**
 * A whole serving platform from one declaration: the GPU operator with the MIG layouts of the node
 * pools, Karpenter GPU node pools, the shared model repository, and per team a namespace with quota
 * and the Triton pools (with autoscaling) that serve its models, plus per-model routes.
 *
 * Deployment order (fixed, so add-ons can rely on it): gpu-operator → mig-config → node-pools →
 * model-repository → add-ons (declared order) → teams (by name) → autoscaling and routes → team setup
 * hooks → add-on postDeploy (declared order) → cross-tree checks.
 */
import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { plan as planFleet } from '../../planner';
import { GpuNodePool, gpuNodePoolInstanceTypes } from '../gpu/gpu-node-pool';
import { GpuOperator } from '../gpu/gpu-operator';
import { WHOLE_GPU_RESOURCE, gpuResourceName, MigStrategy } from '../gpu/gpu-resources';
import { ModelRepository, ModelRepositoryStorage } from '../serving/model-repository';
import { assertDnsLabel } from '../common/names';
import { byString } from '../common/order';
import { CheckOptions, checkPlatformObjects, podRequests } from './platform-checks';
import { PlatformBuilder, checkRegistrations, deployAddOns } from './platform-builder';
import { PlannedPlatform, PlatformNodePool, planDeclaration } from './serving-platform-plan';
import { BUILT_IN_PARTS, PlatformContext, PoolScaling, SharedPool, Team, TeamPool } from '../teams/team-contract';
import { RepositoryEgress, TeamNamespace } from '../teams/team-namespace';
import { modelConfig } from '../teams/team-model-config';
import { TritonPool } from '../serving/triton-pool';
import { PlatformServing, ServedPool } from './serving-platform-serving';
import { CapacityDemand, CapacityNodePool, nodePoolPodShare, podResources, sizeCapacity } from './serving-platform-capacity';
import { PrerequisitesDeclaration, ResolvedPrerequisites, resolvePrerequisites } from './platform-prerequisites';
import type { CpuMemory } from '../gpu/node-allocatable';
import { PlatformRouter, PlatformRouterOptions, PlatformRouterProps } from './serving-platform-router';
import { LatencyObjective } from '../serving/latency-budget';
import { annotateTeamConsumption } from '../teams/team-consumption-annotations';
import type { PlatformPlan, ServingPlatformProps } from './serving-platform-props';


/** Annotation on an autoscaler whose maxReplicas the node pool's size lowered: the note saying from what and why. */
export const MAX_REPLICAS_LOWERED_ANNOTATION = 'gpufleet.io/max-replicas-lowered';

/** `GpuNodePool`'s default `maxNodes`. */
const GPU_NODE_POOL_DEFAULT_MAX_NODES = 2;

/**
 * A serving platform. Build it with `new ServingPlatform(scope, id, props)`, `ServingPlatform.builder()`,
 * or `ServingPlatform.fromPlan(scope, id, { fleet, plan, ... })`.
 */
export class ServingPlatform extends Construct {
  /** A fluent builder: `ServingPlatform.builder().repository(...).nodePools(...).teams(a, b).build(chart, 'Platform')`. */
  public static builder(): PlatformBuilder {
    return new PlatformBuilder((scope, id, props) => new ServingPlatform(scope, id, props));
  }

  /**
   * Renders a plan (or plans the fleet when no plan is given): node pools per node configuration,
   * teams from the fleet, Triton pools and model configs from the plan.
   */
  public static fromPlan(scope: Construct, id: string, props: Omit<ServingPlatformProps, 'plan'> & PlatformPlan): ServingPlatform {
    const { fleet, plan, sharedNamespace, scaling, extraReplicas, router, ...rest } = props;
    return new ServingPlatform(scope, id, { ...rest, sharedNamespace, plan: { fleet, plan, sharedNamespace, scaling, extraReplicas, router } });
  }

  public readonly gpuOperator: GpuOperator;
  public readonly repository: ModelRepository;
  public readonly migStrategy: MigStrategy;
  /** Node pools by name. */
  public readonly nodePools: ReadonlyMap<string, GpuNodePool>;
  /** Team namespaces by team name (`shared` for the shared namespace). */
  public readonly teams: ReadonlyMap<string, TeamNamespace>;
  /** Triton pools by name. */
  public readonly pools: ReadonlyMap<string, ServedPool>;
  /** Routes, autoscaling and metrics rules of the pools. */
  public readonly serving: PlatformServing;
  /**
   * The model router of a planned cold pool (fleet `coldBelowRps`), else of the first namespace with hand-written
   * cache pools; with its network policies.
   */
  public readonly coldPool?: PlatformRouter;
  /** The declared prerequisites (rendered as the ConfigMap `gpufleet-prerequisites`). */
  public readonly prerequisites: ResolvedPrerequisites;
  /**
   * One note per pool whose maximum replicas were lowered to what its node pool's `maxNodes` holds, e.g.
   * `pool "vision-1g": maxReplicas 8 → 6 (node pool "h100-mig", maxNodes 1, holds 16 nvidia.com/mig-1g.10gb)`.
   */
  public readonly capacityNotes: readonly string[];
  /** Per node pool: the CPU and memory one GPU pod may request so that a full node fits. */
  public readonly podShares: ReadonlyMap<string, CpuMemory>;
  /** Every model router (one per namespace with cache pools), by namespace. */
  public readonly routers: ReadonlyMap<string, PlatformRouter>;
  /** The models' latency objectives (models with an SLO), by model name. */
  public readonly latencyObjectives: ReadonlyMap<string, LatencyObjective>;

  private readonly registry = new Map<string, Construct>();

  constructor(scope: Construct, id: string, props: ServingPlatformProps) {
    super(scope, id);
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
    const gatewayNamespace = props.gatewayNamespace ?? 'gateway-system';
    const monitoringNamespace = props.monitoringNamespace ?? 'monitoring';
    const sharedNamespace = props.sharedNamespace ?? props.plan?.sharedNamespace ?? 'serving-shared';
    assertDnsLabel('sharedNamespace', sharedNamespace);
    const latencyHeadroom = props.latencyHeadroom ?? props.plan?.fleet.latencyHeadroom ?? 0.5;
    if (typeof latencyHeadroom !== 'number' || !(latencyHeadroom > 0 && latencyHeadroom <= 1)) {
      throw new Error(`latencyHeadroom: expected a number in (0, 1], got ${JSON.stringify(props.latencyHeadroom)}`);
    }

    // 1. The declaration: hand-written, or rendered from the plan.
    const planned: PlannedPlatform | undefined = props.plan
      ? planDeclaration(props.plan.fleet, props.plan.plan ?? planFleet(props.plan.fleet), givenTeams, {
        sharedNamespace,
        scaling: props.plan.scaling ?? props.defaultScaling,
        extraReplicas: props.plan.extraReplicas,
      })
      : undefined;
    const nodePoolSpecs = [...(planned?.nodePools ?? []), ...(props.nodePools ?? [])].sort((a, b) => byString(a.name, b.name));
    const teams = [...(planned?.teams ?? givenTeams)].sort((a, b) => byString(a.name, b.name));
    const sharedPools = planned?.sharedPools ?? [];
    {
      const seen = new Set<string>();
      for (const np of nodePoolSpecs) {
        if (seen.has(np.name)) throw new Error(`nodePools: node pool "${np.name}" is declared more than once`);
        seen.add(np.name);
      }
    }

    // 2. GPU operator and its MIG / device-plugin configs.
    this.gpuOperator = new GpuOperator(this, 'GpuOperator', props.gpuOperator ?? {});
    this.migStrategy = this.gpuOperator.values.mig.strategy;
    this.register('gpu-operator', this.gpuOperator);
    this.register('mig-config', this.gpuOperator.migConfig);

    // 3. Node pools (layouts go into the MIG config once per name), sized so every pool fits at its maximum
    //    replicas: the node pool's maxNodes grows to hold them, or, where it is given, pool maxima come down.
    this.prerequisites = resolvePrerequisites(props.prerequisites, monitoringNamespace);
    const owners: { name: string; namespace: string; group?: string; team?: Team; pools: readonly (TeamPool | SharedPool)[] }[] = teams.map((t) => ({
      name: t.name, namespace: t.namespace ?? t.name, group: t.group, team: t, pools: t.pools ?? [],
    }));
    if (sharedPools.length > 0) owners.push({ name: 'shared', namespace: sharedNamespace, group: 'gpufleet:platform', pools: sharedPools });
    const nodeResources = new Map<string, string[]>();
    for (const np of nodePoolSpecs) nodeResources.set(np.name, Object.keys(this.resourcesOf(np)));
    const claims = this.capacityDemands(owners.flatMap((o) => o.pools), nodePoolSpecs, nodeResources, props.defaultScaling);
    const shapes: CapacityNodePool[] = nodePoolSpecs.map((np) => ({
      name: np.name,
      instanceTypes: gpuNodePoolInstanceTypes(np.name, np.gpuType, np.instanceTypes ?? (np.instanceType ? [np.instanceType] : undefined)),
      resourcesPerNode: (gpus: number) => (np.layout
        ? { [WHOLE_GPU_RESOURCE]: 0, ...np.layout.resourceCounts({ gpusPerNode: np.layout.allDevices ? gpus : undefined, strategy: this.migStrategy }) }
        : { [WHOLE_GPU_RESOURCE]: gpus * (np.timeSlicing ?? 1) }),
      // a node pool's own maxNodes is its size; the defaults' never undercuts the plan's nodes
      maxNodes: np.maxNodes ?? (props.nodePoolDefaults?.maxNodes === undefined ? undefined : Math.max(props.nodePoolDefaults.maxNodes, np.plannedNodes ?? 0)),
      atLeast: Math.max(np.plannedNodes ?? 0, GPU_NODE_POOL_DEFAULT_MAX_NODES),
    }));
    const sizing = sizeCapacity(shapes, claims);
    this.capacityNotes = sizing.notes;
    this.podShares = new Map(shapes.map((sh) => [sh.name, nodePoolPodShare(sh)]));
    const nodePools = new Map<string, GpuNodePool>();
    const nodePoolScope = new Construct(this, 'NodePools');
    for (const np of nodePoolSpecs) {
      if (np.layout) {
        const existing = this.gpuOperator.migConfig.findLayout(np.layout.name);
        if (!existing) this.gpuOperator.migConfig.addLayout(np.layout);
        else if (existing !== np.layout && JSON.stringify(existing.devices) !== JSON.stringify(np.layout.devices)) {
          throw new Error(`nodePools["${np.name}"].layout: another node pool uses a different MIG layout named "${np.layout.name}"; layout names must be unique`);
        }
      }
      let devicePluginConfig: string | undefined;
      if (np.timeSlicing !== undefined) {
        if (np.layout) throw new Error(`nodePools["${np.name}"].timeSlicing: time-slicing applies to whole GPUs, but the pool has MIG layout "${np.layout.name}"`);
        devicePluginConfig = this.gpuOperator.timeSlicing.addConfig({ name: `${np.name}-x${np.timeSlicing}`, replicas: np.timeSlicing });
      }
      if (np.instanceType !== undefined && np.instanceTypes !== undefined) {
        throw new Error(`nodePools["${np.name}"].instanceTypes: give instanceType or instanceTypes, not both, got ${JSON.stringify(np.instanceType)} and ${JSON.stringify(np.instanceTypes)}`);
      }
      const pool = new GpuNodePool(nodePoolScope, np.name, {
        ...(props.nodePoolDefaults ?? {}),
        name: np.name,
        gpuType: np.gpuType,
        clusterName: props.cluster.name,
        nodeRole: props.cluster.nodeRole,
        migStrategy: this.migStrategy,
        ...(np.instanceTypes ? { instanceTypes: np.instanceTypes } : np.instanceType ? { instanceTypes: [np.instanceType] } : {}),
        maxNodes: sizing.maxNodes.get(np.name)!,
        ...(np.layout ? { migLayout: np.layout } : {}),
        ...(devicePluginConfig ? { devicePluginConfig, timeSlicingReplicas: np.timeSlicing } : {}),
      });
      nodePools.set(np.name, pool);
    }
    this.nodePools = nodePools;
    this.register('node-pools', nodePoolScope);

    // 4. The repository with every team's models.
    this.repository = new ModelRepository(this, 'Repository', { storage: props.repository, configDirectory: props.configDirectory });
    const ownerOfModel = new Map<string, string>();
    for (const team of teams) {
      for (const m of team.models) {
        const other = ownerOfModel.get(m.name);
        if (other !== undefined) {
          throw new Error(other === team.name
            ? `teams["${team.name}"].models: model "${m.name}" is declared more than once`
            : `teams["${team.name}"].models: model "${m.name}" is already declared by team "${other}"; model names are unique across the platform`);
        }
        ownerOfModel.set(m.name, team.name);
      }
    }
    const objectives = new Map<string, LatencyObjective>();
    for (const team of teams) {
      for (const m of [...team.models].sort((a, b) => byString(a.name, b.name))) {
        this.repository.addModel(modelConfig(team.name, m, latencyHeadroom));
        if (m.latencySloMs !== undefined) objectives.set(m.name, { latencySloMs: m.latencySloMs, latencyHeadroom });
      }
    }
    this.latencyObjectives = objectives;
    this.register('model-repository', this.repository);

    // 5. Add-ons, in declared order.
    const teamNamespaces = new Map<string, TeamNamespace>();
    const gpuResources = new Map<string, string[]>();
    for (const [np, rs] of nodeResources) for (const r of rs) gpuResources.set(r, [...(gpuResources.get(r) ?? []), np]);
    const deployed: string[] = [...BUILT_IN_PARTS];
    const ctx: PlatformContext & { deployed: string[] } = {
      scope: this,
      platform: this,
      deployed,
      namespace: sharedNamespace,
      gpuResources,
      teams: teamNamespaces,
      get: <T extends Construct>(key: string) => this.registry.get(key) as T | undefined,
      register: (key: string, c: Construct) => this.register(key, c),
    };
    deployAddOns(ctx, props.addOns ?? []);

    // 6. Teams: namespace, pools, quota; then shared pools.
    const allResources = [...new Set([WHOLE_GPU_RESOURCE, ...gpuResources.keys()])].sort(byString);
    const pools = new Map<string, ServedPool>();
    const cachePools = new Set([...(planned?.cold?.pools ?? []), ...owners.flatMap((o) => o.pools.filter((p) => p.cache).map((p) => p.name))]);
    const namespaceOwners = new Map<string, string>();
    for (const o of owners) {
      const other = namespaceOwners.get(o.namespace);
      if (other) throw new Error(`teams["${o.name}"].namespace: namespace "${o.namespace}" is already used by team "${other}"`);
      namespaceOwners.set(o.namespace, o.name);
    }
    for (const o of owners) {
      const given = givenTeams.find((t) => t.name === o.name);
      const ns = new TeamNamespace(this, `Team-${o.name}`, {
        team: o.name,
        namespace: o.namespace,
        group: o.group,
        quota: given?.quota ?? o.team?.quota,
        containerDefaults: given?.containerDefaults ?? o.team?.containerDefaults,
        gatewayNamespace,
        monitoringNamespace,
        repositoryEgress: repositoryEgressOf(props.repository),
      });
      teamNamespaces.set(o.name, ns);
      for (const r of allResources) ns.addGpuQuota(r, 0);
      const teamModels = new Set((o.team?.models ?? []).map((m) => m.name));
      for (const [i, p] of [...o.pools].sort((a, b) => byString(a.name, b.name)).entries()) {
        const where = `teams["${o.name}"].pools[${i}]`;
        if (o.team) {
          for (const m of p.models) {
            if (!teamModels.has(m)) {
              const owner = ownerOfModel.get(m);
              throw new Error(`${where}.models: pool "${p.name}" loads model "${m}", ${owner ? `which belongs to team "${owner}"` : `but no team declares it (team "${o.name}" has ${[...teamModels].sort().join(', ') || 'none'})`}`);
            }
          }
        }
        if (pools.has(p.name)) throw new Error(`${where}.name: pool "${p.name}" is declared more than once`);
        const nodePool = this.nodePoolFor(p, nodePoolSpecs, nodeResources, where);
        const declared = p.scaling ?? props.defaultScaling ?? { kind: 'fixed' };
        const replicas = p.replicas ?? (declared.kind === 'fixed' ? 1 : Math.max(declared.minReplicas ?? 1, 1));
        const scaling: PoolScaling = declared.kind === 'fixed' ? declared : { ...declared, maxReplicas: sizing.maxReplicas.get(p.name)! };
        // A cache pool of the cold pool's router loads nothing at start: the router loads models on demand.
        const cache = cachePools.has(p.name);
        const pool = new TritonPool(this, `Pool-${p.name}`, {
          ...(props.poolDefaults ?? {}),
          resources: podResources(p.name, nodePool.name, props.poolDefaults?.resources, this.podShares.get(nodePool.name)!),
          nodePool: nodePool.name,
          name: p.name,
          repository: this.repository,
          models: p.models,
          gpuType: nodePool.gpuType,
          profile: p.slice,
          migStrategy: this.migStrategy,
          migConfig: nodePools.get(nodePool.name)!.migConfigName,
          replicas,
          namespace: o.namespace,
          team: o.name,
          loadModelsAtStart: !cache,
        });
        const maxReplicas = scaling.kind === 'fixed' ? replicas : scaling.maxReplicas;
        pools.set(p.name, { pool, owner: o.name, scaling, maxReplicas, ...(cache ? { cache: true } : {}) });
        ns.addGpuQuota(pool.gpuResource, maxReplicas);
        const requests = deploymentRequests(pool.deployment);
        ns.addWorkload(requests.cpu * maxReplicas, requests.memory * maxReplicas, maxReplicas);
      }
    }
    this.teams = teamNamespaces;
    this.pools = pools;
    // what each team consumes, on the shared pools and on every team's namespace and quota (docs/platform.md)
    if (planned?.teamConsumption) annotateTeamConsumption({ consumption: planned.teamConsumption, sharedPools, pools, namespaces: teamNamespaces, sharedNamespace });

    // 6b. The cold pool: a model router over the cache pools, beside them (the plan's, and one per namespace with
    //     hand-written cache pools).
    const routers = new Map<string, PlatformRouter>();
    const addRouter = (id: string, owner: string, poolNames: readonly string[], models: PlatformRouterProps['models'], overhead: number, options: PlatformRouterOptions | undefined): PlatformRouter => {
      const ns = teamNamespaces.get(owner)!;
      const router = new PlatformRouter(this, id, {
        ...(options ?? {}),
        namespace: ns.namespaceName,
        pools: poolNames.map((n) => pools.get(n)!.pool),
        models,
        processOverheadGiB: overhead,
        monitoringNamespace,
      });
      const r = deploymentRequests(router.router.deployment);
      ns.addWorkload(r.cpu, r.memory, 1);
      routers.set(ns.namespaceName, router);
      return router;
    };
    const cold = planned?.cold;
    if (cold) this.coldPool = addRouter('ColdPool', cold.owner, cold.pools, cold.models, cold.processOverheadGiB, props.plan?.router);
    for (const o of owners) {
      const own = [...o.pools].filter((p) => p.cache).sort((a, b) => byString(a.name, b.name));
      if (own.length === 0 || !o.team) continue;
      const models = [...new Set(own.flatMap((p) => p.models))].sort(byString).map((name) => {
        const m = o.team!.models.find((x) => x.name === name)!;
        if (typeof m.memoryGiB !== 'number' || !(m.memoryGiB > 0)) {
          throw new Error(`teams["${o.name}"].models["${name}"].memoryGiB: expected a number > 0 for a model of cache pool "${own.find((p) => p.models.includes(name))!.name}" (the router counts it), got ${JSON.stringify(m.memoryGiB)}`);
        }
        return { name, memoryGiB: m.memoryGiB };
      });
      const router = addRouter(`Router-${o.name}`, o.name, own.map((p) => p.name), models, props.plan?.fleet.processOverheadGiB ?? 0.6, props.router);
      this.coldPool ??= router;
    }
    this.routers = routers;
    const served = new Set([...pools.values()].flatMap((p) => p.pool.models));
    for (const t of teams) {
      for (const m of t.models) {
        if (!served.has(m.name)) {
          throw new Error(`teams["${t.name}"].models: model "${m.name}" is served by no pool (pools of team "${t.name}": ${(t.pools ?? []).map((p) => p.name).sort().join(', ') || 'none'}); add it to a pool or remove it`);
        }
      }
    }

    // 7. Autoscaling, metrics rules and routes of every pool, on what the cluster provides.
    for (const { pool, scaling } of [...pools.values()].sort((a, b) => byString(a.pool.name, b.pool.name))) {
      if (scaling.kind === 'keda' && !this.prerequisites.keda) {
        throw new Error(`pools["${pool.name}"].scaling: kind keda needs KEDA, which prerequisites.keda declares absent`);
      }
      if (scaling.kind === 'hpa' && !this.prerequisites.prometheusAdapter) {
        throw new Error(`pools["${pool.name}"].scaling: kind hpa needs prometheus-adapter, which prerequisites.prometheusAdapter declares absent`);
      }
    }
    this.serving = new PlatformServing(this, 'Serving', {
      adapterNamespace: this.prerequisites.prometheusAdapter?.namespace,
      pools: [...pools.values()].sort((a, b) => byString(a.pool.name, b.pool.name)),
      weights: planned?.routeWeights,
      namespace: sharedNamespace,
      gatewayNamespace,
      monitoringNamespace,
      routes: props.routes,
      models: this.repository.modelNames,
      routers: [...routers.values()].map((r) => ({ serviceName: r.router.service.name, namespace: r.router.namespace!, models: r.router.config.models.map((m) => m.name) })),
      objectives,
    });

    // The rendering says which maxima the node pools' sizes lowered, on the autoscaler itself.
    for (const [pool, note] of sizing.lowered) {
      const a = this.serving.autoscaling.get(pool);
      (a?.scaledObject ?? a?.horizontalPodAutoscaler)?.metadata.addAnnotation(MAX_REPLICAS_LOWERED_ANNOTATION, note);
    }

    // The declaration `gpufleet check` reads, beside the GPU operator (after its namespace).
    const declaration = new PrerequisitesDeclaration(this, 'Prerequisites', { prerequisites: this.prerequisites, namespace: this.gpuOperator.namespace });
    if (this.gpuOperator.namespaceObject) declaration.configMap.addDependency(this.gpuOperator.namespaceObject);

    // 8. Team setup hooks, by team name.
    for (const t of teams) {
      const hook = givenTeams.find((g) => g.name === t.name)?.setup ?? t.setup;
      if (hook) hook.call(givenTeams.find((g) => g.name === t.name) ?? t, ctx, teamNamespaces.get(t.name)!);
    }

    // Add-ons that need the pools, in declared order.
    for (const addOn of props.addOns ?? []) addOn.postDeploy?.(ctx);

    // 9. Objects in a team namespace (e.g. the repository's service accounts) are applied after the
    //    Namespace: cdk8s orders output by dependencies, and `kubectl apply` fails on a missing namespace.
    const nsObjects = new Map([...teamNamespaces.values()].map((t) => [t.namespaceName, t.namespace]));
    for (const c of this.node.findAll()) {
      if (!ApiObject.isApiObject(c)) continue;
      const target = c.metadata.namespace === undefined ? undefined : nsObjects.get(c.metadata.namespace);
      if (target && !c.node.path.startsWith(`${target.node.scope!.node.path}/`)) c.addDependency(target);
    }

    // 10. Cross-tree checks: now (a clear error at build) and again at synth (anything added later).
    const problems = this.check();
    if (problems.length > 0) throw new Error(`serving platform "${this.node.path}" is inconsistent:\n- ${problems.join('\n- ')}`);
    this.node.addValidation({ validate: () => this.check() });
  }

  /** Runs the cross-tree checks over every object of the chart; returns one message per problem. */
  public check(options: CheckOptions = {}): string[] {
    const objects = Chart.of(this).node.findAll().filter((c): c is ApiObject => ApiObject.isApiObject(c)).map((o) => o.toJson());
    return checkPlatformObjects(objects, { repositoryModels: this.repository.modelNames, ...options });
  }

  /** A construct registered by a built-in part or an add-on. */
  public get<T extends Construct = Construct>(key: string): T | undefined {
    return this.registry.get(key) as T | undefined;
  }

  private register(key: string, c: Construct): void {
    if (this.registry.has(key)) throw new Error(`register: "${key}" is already registered`);
    this.registry.set(key, c);
  }

  private resourcesOf(np: PlatformNodePool): Record<string, number> {
    if (np.layout) return np.layout.resourceCounts({ strategy: this.migStrategy });
    return { [WHOLE_GPU_RESOURCE]: 1 };
  }

  /**
   * What each pool claims of its node pool: one GPU resource unit per replica, between its minimum and maximum.
   * Pools whose node pool can not be resolved are left out here (the team loop reports them in declaration order).
   */
  private capacityDemands(pools: readonly TeamPool[], specs: readonly PlatformNodePool[], resources: ReadonlyMap<string, string[]>, defaultScaling: PoolScaling | undefined): CapacityDemand[] {
    const out: CapacityDemand[] = [];
    for (const p of pools) {
      let np: PlatformNodePool;
      let resource: string;
      try {
        np = this.nodePoolFor(p, specs, resources, `pools["${p.name}"]`);
        resource = gpuResourceName(np.gpuType, p.slice, this.migStrategy);
      } catch {
        continue;
      }
      const scaling = p.scaling ?? defaultScaling ?? { kind: 'fixed' };
      const replicas = p.replicas ?? (scaling.kind === 'fixed' ? 1 : Math.max(scaling.minReplicas ?? 1, 1));
      const fixed = scaling.kind === 'fixed';
      const min = fixed ? replicas : (scaling.minReplicas ?? 1);
      const max = fixed ? replicas : scaling.maxReplicas;
      if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) continue; // PoolAutoscaling reports it
      out.push({ pool: p.name, nodePool: np.name, resource, minReplicas: min, maxReplicas: max, fixed });
    }
    return out;
  }

  /** The node pool a pool runs on: the named one, or the only one whose layout provides its slice. */
  private nodePoolFor(p: TeamPool, specs: readonly PlatformNodePool[], resources: ReadonlyMap<string, string[]>, where: string): PlatformNodePool {
    const layouts = specs.map((s) => `${s.name}: ${describeLayout(s)}`).join('; ') || 'none';
    const resourceOn = (s: PlatformNodePool): string | undefined => {
      try {
        return gpuResourceName(s.gpuType, p.slice, this.migStrategy);
      } catch {
        return undefined;
      }
    };
    // A node pool fits when its nodes advertise the resource and carry the slice itself: under the
    // single strategy a 1g.10gb slice and a whole GPU are both `nvidia.com/gpu`, but not interchangeable.
    const fits = (s: PlatformNodePool): boolean => {
      const r = resourceOn(s);
      return r !== undefined && resources.get(s.name)!.includes(r) && slicesOf(s).includes(p.slice);
    };
    if (p.nodePool !== undefined) {
      const s = specs.find((n) => n.name === p.nodePool);
      if (!s) throw new Error(`${where}.nodePool: pool "${p.name}" names node pool "${p.nodePool}", which is not declared (node pools: ${specs.map((n) => n.name).join(', ') || 'none'})`);
      const r = resourceOn(s);
      if (!fits(s)) {
        throw new Error(`pool "${p.name}" requests ${r ?? `slice ${p.slice}`}, but node pool "${s.name}"'s layout does not provide it (${s.name}: ${describeLayout(s)})`);
      }
      return s;
    }
    const candidates = specs.filter(fits);
    if (candidates.length === 0) {
      const r = specs.map(resourceOn).find((x) => x !== undefined) ?? (p.slice === 'whole' ? WHOLE_GPU_RESOURCE : `nvidia.com/mig-${p.slice}`);
      throw new Error(`pool "${p.name}" requests ${r}, but no node pool's layout provides it (layouts: ${layouts})`);
    }
    if (candidates.length > 1) {
      throw new Error(`${where}.nodePool: pool "${p.name}" (slice ${p.slice}) fits node pools ${candidates.map((c) => c.name).join(', ')}; name one with nodePool`);
    }
    return candidates[0];
  }
}

/** CPU (cores) and memory (bytes) one pod of a Deployment requests, read from the rendered Deployment. */
function deploymentRequests(deployment: ApiObject): { cpu: number; memory: number } {
  return podRequests(deployment.toJson().spec?.template?.spec);
}

/** The slices a node pool's GPUs offer: MIG profile names, and `whole` for GPUs without MIG. */
function slicesOf(np: PlatformNodePool): string[] {
  if (!np.layout) return ['whole'];
  return [...new Set(np.layout.profileCounts().flatMap((c) => (c ? Object.keys(c) : ['whole'])))];
}

function describeLayout(np: PlatformNodePool): string {
  if (!np.layout) return np.timeSlicing ? `whole GPUs time-sliced ×${np.timeSlicing}` : 'whole GPUs';
  const counts = np.layout.profileCounts();
  const profiles: string[] = [];
  for (const c of counts) {
    for (const p of c ? Object.keys(c) : ['whole']) if (!profiles.includes(p)) profiles.push(p);
  }
  // largest slices first, as operators read layouts
  return profiles.sort((a, b) => (parseInt(b, 10) || 8) - (parseInt(a, 10) || 8) || byString(a, b)).join(', ');
}

/** Egress of serving namespaces to the repository: none for a PVC, the configured CIDRs (or any address) on 443 for S3. */
function repositoryEgressOf(storage: ModelRepositoryStorage): RepositoryEgress | false {
  if (storage.kind !== 's3') return false;
  return storage.egressCidrs ? { cidrs: storage.egressCidrs } : {};
}

// What add-ons and team setup hooks see as `ctx.platform` (teams/team-contract.ts declares it without importing this file).
declare module '../teams/team-contract' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface PlatformInstance extends ServingPlatform {}
}
