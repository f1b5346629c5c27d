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
import { GpuNodePool } from '../gpu/gpu-node-pool';
import { GpuOperator } from '../gpu/gpu-operator';
import { WHOLE_GPU_RESOURCE, MigStrategy } from '../gpu/gpu-resources';
import { ModelRepository, ModelRepositoryStorage } from '../serving/model-repository';
import { byString } from '../common/order';
import { CheckOptions, checkPlatformObjects } from './platform-checks';
import { CHECKED_KINDS, podRequests } from './platform-facts';
import { PlatformBuilder, deployAddOns } from './platform-builder';
import type { PlannedPlatform, PlatformNodePool } from './serving-platform-plan';
import { BUILT_IN_PARTS, PlatformContext, PoolScaling, Team, TeamPool } from '../teams/team-contract';
import { RepositoryEgress, TeamNamespace } from '../teams/team-namespace';
import { modelConfig } from '../teams/team-model-config';
import { TritonPool } from '../serving/triton-pool';
import { PlatformServing, ServedPool } from './serving-platform-serving';
import { CapacitySizing, nodePoolPodShare, podResources, sizeCapacity } from './serving-platform-capacity';
import { capacityDemands, capacityNodePools, initialReplicas, nodePoolFor, nodePoolResources } from './serving-platform-placement';
import {
  NamespaceOwner,
  PlatformDeclaration,
  PlatformSettings,
  cacheModels,
  checkEveryModelServed,
  checkNamespaceOwners,
  checkPoolModels,
  checkedSettings,
  modelOwners,
  platformDeclaration,
} from './serving-platform-declaration';
import { PrerequisitesDeclaration, ResolvedPrerequisites, resolvePrerequisites } from './platform-prerequisites';
import type { CpuMemory } from '../gpu/node-allocatable';
import { PlatformRouter, PlatformRouterOptions, PlatformRouterProps } from './serving-platform-router';
import { LatencyObjective } from '../serving/latency-budget';
import { annotateTeamConsumption } from '../teams/team-consumption-annotations';
import type { PlatformPlan, ServingPlatformProps } from './serving-platform-props';

/** Annotation on an autoscaler whose maxReplicas the node pool's size lowered: the note saying from what and why. */
export const MAX_REPLICAS_LOWERED_ANNOTATION = 'gpufleet.io/max-replicas-lowered';

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
    return new ServingPlatform(scope, id, {
      ...rest,
      sharedNamespace,
      plan: { fleet, plan, sharedNamespace, scaling, extraReplicas, router },
    });
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
   * The model router of a planned cold tier (fleet `coldBelowRps`), else of the first namespace with hand-written
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
    const settings = checkedSettings(props);

    // 1. The declaration: hand-written, or rendered from the plan.
    const declaration = platformDeclaration(props, settings.sharedNamespace);

    // 2. GPU operator and its MIG / device-plugin configs.
    this.gpuOperator = new GpuOperator(this, 'GpuOperator', props.gpuOperator ?? {});
    this.migStrategy = this.gpuOperator.values.mig.strategy;
    this.register('gpu-operator', this.gpuOperator);
    this.register('mig-config', this.gpuOperator.migConfig);

    // 3. Node pools (layouts go into the MIG config once per name), sized so every pool fits at its maximum
    //    replicas: the node pool's maxNodes grows to hold them, or, where it is given, pool maxima come down.
    this.prerequisites = resolvePrerequisites(props.prerequisites, settings.monitoringNamespace);
    const specs = declaration.nodePools;
    const resources = new Map(specs.map((np) => [np.name, Object.keys(nodePoolResources(np, this.migStrategy))]));
    const demands = capacityDemands(
      declaration.owners.flatMap((o) => o.pools),
      specs,
      resources,
      this.migStrategy,
      props.defaultScaling,
    );
    const shapes = capacityNodePools(specs, this.migStrategy, props.nodePoolDefaults);
    const sizing = sizeCapacity(shapes, demands);
    this.capacityNotes = sizing.notes;
    this.podShares = new Map(shapes.map((sh) => [sh.name, nodePoolPodShare(sh)]));
    this.nodePools = this.renderNodePools(props, specs, sizing.maxNodes);
    const placed: PlacedNodePools = { specs, resources, rendered: this.nodePools, sizing };

    // 4. The repository with every team's models.
    this.repository = new ModelRepository(this, 'Repository', { storage: props.repository, configDirectory: props.configDirectory });
    const ownerOfModel = modelOwners(declaration.teams);
    this.latencyObjectives = this.addModelConfigs(declaration.teams, settings.latencyHeadroom);
    this.register('model-repository', this.repository);

    // 5. Add-ons, in declared order.
    const teamNamespaces = new Map<string, TeamNamespace>();
    const gpuResources = nodePoolsByResource(resources);
    const ctx = this.addOnContext(settings.sharedNamespace, gpuResources, teamNamespaces);
    deployAddOns(ctx, props.addOns ?? []);

    // 6. Teams: namespace, pools, quota; then shared pools.
    this.pools = this.renderTeams(props, settings, declaration, placed, ownerOfModel, gpuResources, teamNamespaces);
    this.teams = teamNamespaces;
    // what each team consumes, on the shared pools and on every team's namespace and quota (docs/platform.md)
    const consumption = declaration.planned?.teamConsumption;
    if (consumption) {
      annotateTeamConsumption({
        consumption,
        sharedPools: declaration.sharedPools,
        pools: this.pools,
        namespaces: teamNamespaces,
        sharedNamespace: settings.sharedNamespace,
      });
    }

    // 6b. The cold tier: a model router over the cache pools, beside them (the plan's, and one per namespace with
    //     hand-written cache pools).
    const { routers, coldPool } = this.renderRouters(props, settings.monitoringNamespace, declaration, teamNamespaces);
    this.routers = routers;
    this.coldPool = coldPool;
    checkEveryModelServed(declaration.teams, this.pools);

    // 7. Autoscaling, metrics rules and routes of every pool, on what the cluster provides.
    checkScalingPrerequisites(this.pools, this.prerequisites);
    this.serving = this.renderServing(props, settings, declaration.planned, routers);
    // The rendering says which maxima the node pools' sizes lowered, on the autoscaler itself.
    annotateLoweredMaxima(this.serving, sizing.lowered);
    this.renderPrerequisitesDeclaration();

    // 8. Team setup hooks, by team name; then add-ons that need the pools, in declared order.
    runTeamSetupHooks(declaration.teams, props.teams ?? [], ctx, teamNamespaces);
    for (const addOn of props.addOns ?? []) addOn.postDeploy?.(ctx);

    // 9. Objects in a team namespace are applied after the Namespace.
    this.orderAfterNamespaces(teamNamespaces);

    // 10. Cross-tree checks: now (a clear error at build) and again at synth (anything added later).
    const problems = this.check();
    if (problems.length > 0) throw new Error(`serving platform "${this.node.path}" is inconsistent:\n- ${problems.join('\n- ')}`);
    this.node.addValidation({ validate: () => this.check() });
  }

  /**
   * Step 3: the GPU node pools under `NodePools`, at the sized `maxNodes`; their MIG layouts and time-slicing configs go to
   * the GPU operator.
   */
  private renderNodePools(
    props: ServingPlatformProps,
    specs: readonly PlatformNodePool[],
    maxNodes: ReadonlyMap<string, number>,
  ): Map<string, GpuNodePool> {
    const nodePools = new Map<string, GpuNodePool>();
    const nodePoolScope = new Construct(this, 'NodePools');
    for (const np of specs) {
      this.addMigLayout(np);
      const devicePluginConfig = this.addTimeSlicingConfig(np);
      if (np.instanceType !== undefined && np.instanceTypes !== undefined) {
        throw new Error(
          `nodePools["${np.name}"].instanceTypes: give instanceType or instanceTypes, not both, ` +
            `got ${JSON.stringify(np.instanceType)} and ${JSON.stringify(np.instanceTypes)}`,
        );
      }
      const pool = new GpuNodePool(nodePoolScope, np.name, {
        ...(props.nodePoolDefaults ?? {}),
        name: np.name,
        gpuType: np.gpuType,
        clusterName: props.cluster.name,
        nodeRole: props.cluster.nodeRole,
        migStrategy: this.migStrategy,
        ...(np.instanceTypes ? { instanceTypes: np.instanceTypes } : np.instanceType ? { instanceTypes: [np.instanceType] } : {}),
        maxNodes: maxNodes.get(np.name)!,
        ...(np.layout ? { migLayout: np.layout } : {}),
        ...(devicePluginConfig ? { devicePluginConfig, timeSlicingReplicas: np.timeSlicing } : {}),
      });
      nodePools.set(np.name, pool);
    }
    this.register('node-pools', nodePoolScope);
    return nodePools;
  }

  /** The node pool's MIG layout in the GPU operator's MIG config, once per layout name. */
  private addMigLayout(np: PlatformNodePool): void {
    if (!np.layout) return;
    const existing = this.gpuOperator.migConfig.findLayout(np.layout.name);
    if (!existing) this.gpuOperator.migConfig.addLayout(np.layout);
    else if (existing !== np.layout && JSON.stringify(existing.devices) !== JSON.stringify(np.layout.devices)) {
      throw new Error(
        `nodePools["${np.name}"].layout: another node pool uses a different MIG layout named "${np.layout.name}"; ` +
          'layout names must be unique',
      );
    }
  }

  /** The node pool's time-slicing config in the device plugin's config, named `<pool>-x<replicas>`; none without time-slicing. */
  private addTimeSlicingConfig(np: PlatformNodePool): string | undefined {
    if (np.timeSlicing === undefined) return undefined;
    if (np.layout)
      throw new Error(
        `nodePools["${np.name}"].timeSlicing: time-slicing applies to whole GPUs, but the pool has MIG layout "${np.layout.name}"`,
      );
    return this.gpuOperator.timeSlicing.addConfig({ name: `${np.name}-x${np.timeSlicing}`, replicas: np.timeSlicing });
  }

  /** Step 4: every team's model configs in the repository (teams in order, models by name); the latency objectives. */
  private addModelConfigs(teams: readonly Team[], latencyHeadroom: number): Map<string, LatencyObjective> {
    const objectives = new Map<string, LatencyObjective>();
    for (const team of teams) {
      for (const m of [...team.models].sort((a, b) => byString(a.name, b.name))) {
        this.repository.addModel(modelConfig(team.name, m, latencyHeadroom));
        if (m.latencySloMs !== undefined) objectives.set(m.name, { latencySloMs: m.latencySloMs, latencyHeadroom });
      }
    }
    return objectives;
  }

  /** Step 5: what add-ons and team setup hooks see (`ctx`); `teams` fills as the team namespaces are rendered. */
  private addOnContext(
    namespace: string,
    gpuResources: ReadonlyMap<string, string[]>,
    teams: ReadonlyMap<string, TeamNamespace>,
  ): PlatformContext & { deployed: string[] } {
    return {
      scope: this,
      platform: this,
      deployed: [...BUILT_IN_PARTS],
      namespace,
      gpuResources,
      teams,
      get: <T extends Construct>(key: string) => this.registry.get(key) as T | undefined,
      register: (key: string, c: Construct) => this.register(key, c),
    };
  }

  /** Step 6: per owner its namespace (every GPU resource's quota at 0), then its pools, each adding its quota and workload. */
  private renderTeams(
    props: ServingPlatformProps,
    settings: PlatformSettings,
    d: PlatformDeclaration,
    placed: PlacedNodePools,
    ownerOfModel: ReadonlyMap<string, string>,
    gpuResources: ReadonlyMap<string, string[]>,
    namespaces: Map<string, TeamNamespace>,
  ): Map<string, ServedPool> {
    const allResources = [...new Set([WHOLE_GPU_RESOURCE, ...gpuResources.keys()])].sort(byString);
    const pools = new Map<string, ServedPool>();
    const cachePools = new Set([
      ...(d.planned?.cold?.pools ?? []),
      ...d.owners.flatMap((o) => o.pools.filter((p) => p.cache).map((p) => p.name)),
    ]);
    checkNamespaceOwners(d.owners);
    for (const o of d.owners) {
      const ns = this.renderTeamNamespace(props, settings, o);
      namespaces.set(o.name, ns);
      for (const r of allResources) ns.addGpuQuota(r, 0);
      const teamModels = new Set((o.team?.models ?? []).map((m) => m.name));
      for (const [i, p] of [...o.pools].sort((a, b) => byString(a.name, b.name)).entries()) {
        const where = `teams["${o.name}"].pools[${i}]`;
        if (o.team) checkPoolModels(where, o.name, p, teamModels, ownerOfModel);
        if (pools.has(p.name)) throw new Error(`${where}.name: pool "${p.name}" is declared more than once`);
        const served = this.renderPool(props, o, p, placed, cachePools.has(p.name), where);
        pools.set(p.name, served);
        ns.addGpuQuota(served.pool.gpuResource, served.maxReplicas);
        const requests = deploymentRequests(served.pool.deployment);
        ns.addWorkload(requests.cpu * served.maxReplicas, requests.memory * served.maxReplicas, served.maxReplicas);
      }
    }
    return pools;
  }

  /** An owner's namespace, with the quota and container defaults its hand-written team (else its planned one) gives. */
  private renderTeamNamespace(props: ServingPlatformProps, settings: PlatformSettings, o: NamespaceOwner): TeamNamespace {
    const given = (props.teams ?? []).find((t) => t.name === o.name);
    return new TeamNamespace(this, `Team-${o.name}`, {
      team: o.name,
      namespace: o.namespace,
      group: o.group,
      quota: given?.quota ?? o.team?.quota,
      containerDefaults: given?.containerDefaults ?? o.team?.containerDefaults,
      gatewayNamespace: settings.gatewayNamespace,
      monitoringNamespace: settings.monitoringNamespace,
      repositoryEgress: repositoryEgressOf(props.repository),
    });
  }

  /** One Triton pool on its node pool, with its scaling (maximum as sized); a cache pool loads nothing at start. */
  private renderPool(
    props: ServingPlatformProps,
    o: NamespaceOwner,
    p: TeamPool,
    placed: PlacedNodePools,
    cache: boolean,
    where: string,
  ): ServedPool {
    const nodePool = nodePoolFor(p, placed.specs, placed.resources, this.migStrategy, where);
    const declared: PoolScaling = p.scaling ?? props.defaultScaling ?? { kind: 'fixed' };
    const replicas = initialReplicas(p, declared);
    const scaling: PoolScaling =
      declared.kind === 'fixed' ? declared : { ...declared, maxReplicas: placed.sizing.maxReplicas.get(p.name)! };
    // A cache pool of the cold tier's router loads nothing at start: the router loads models on demand.
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
      migConfig: placed.rendered.get(nodePool.name)!.migConfigName,
      replicas,
      namespace: o.namespace,
      team: o.name,
      loadModelsAtStart: !cache,
    });
    const maxReplicas = scaling.kind === 'fixed' ? replicas : scaling.maxReplicas;
    return { pool, owner: o.name, scaling, maxReplicas, ...(cache ? { cache: true } : {}) };
  }

  /** Step 6b: the model routers — the plan's cold tier first, then one per owner with hand-written cache pools. */
  private renderRouters(
    props: ServingPlatformProps,
    monitoringNamespace: string,
    d: PlatformDeclaration,
    namespaces: ReadonlyMap<string, TeamNamespace>,
  ): { routers: Map<string, PlatformRouter>; coldPool?: PlatformRouter } {
    const routers = new Map<string, PlatformRouter>();
    const add = (spec: RouterSpec): PlatformRouter => {
      const ns = namespaces.get(spec.owner)!;
      const router = this.renderRouter(spec, ns, monitoringNamespace);
      routers.set(ns.namespaceName, router);
      return router;
    };
    const cold = d.planned?.cold;
    let coldPool = cold ? add({ ...cold, id: 'ColdPool', options: props.plan?.router }) : undefined;
    for (const o of d.owners) {
      const own = [...o.pools].filter((p) => p.cache).sort((a, b) => byString(a.name, b.name));
      if (own.length === 0 || !o.team) continue;
      const pools = own.map((p) => p.name);
      const router = add({
        id: `Router-${o.name}`,
        owner: o.name,
        pools,
        models: cacheModels(o.name, o.team, own),
        processOverheadGiB: props.plan?.fleet.processOverheadGiB ?? 0.6,
        options: props.router,
      });
      coldPool ??= router;
    }
    return { routers, coldPool };
  }

  /** One model router over cache pools, in their owner's namespace, counted in its workload. */
  private renderRouter(spec: RouterSpec, ns: TeamNamespace, monitoringNamespace: string): PlatformRouter {
    const router = new PlatformRouter(this, spec.id, {
      ...(spec.options ?? {}),
      namespace: ns.namespaceName,
      pools: spec.pools.map((n) => this.pools.get(n)!.pool),
      models: spec.models,
      processOverheadGiB: spec.processOverheadGiB,
      monitoringNamespace,
    });
    const r = deploymentRequests(router.router.deployment);
    ns.addWorkload(r.cpu, r.memory, 1);
    return router;
  }

  /** Step 7: routes, autoscaling and metrics rules of every pool (by name), with the routers' models. */
  private renderServing(
    props: ServingPlatformProps,
    settings: PlatformSettings,
    planned: PlannedPlatform | undefined,
    routers: ReadonlyMap<string, PlatformRouter>,
  ): PlatformServing {
    return new PlatformServing(this, 'Serving', {
      adapterNamespace: this.prerequisites.prometheusAdapter?.namespace,
      pools: [...this.pools.values()].sort((a, b) => byString(a.pool.name, b.pool.name)),
      weights: planned?.routeWeights,
      namespace: settings.sharedNamespace,
      gatewayNamespace: settings.gatewayNamespace,
      monitoringNamespace: settings.monitoringNamespace,
      routes: props.routes,
      models: this.repository.modelNames,
      routers: [...routers.values()].map((r) => ({
        serviceName: r.router.service.name,
        namespace: r.router.namespace!,
        models: r.router.config.models.map((m) => m.name),
      })),
      objectives: this.latencyObjectives,
    });
  }

  /** The declaration `gpufleet check` reads, beside the GPU operator (after its namespace). */
  private renderPrerequisitesDeclaration(): void {
    const declaration = new PrerequisitesDeclaration(this, 'Prerequisites', {
      prerequisites: this.prerequisites,
      namespace: this.gpuOperator.namespace,
    });
    if (this.gpuOperator.namespaceObject) declaration.configMap.addDependency(this.gpuOperator.namespaceObject);
  }

  /**
   * Step 9: objects in a team namespace (e.g. the repository's service accounts) are applied after the Namespace:
   * cdk8s orders output by dependencies, and `kubectl apply` fails on a missing namespace.
   */
  private orderAfterNamespaces(namespaces: ReadonlyMap<string, TeamNamespace>): void {
    const nsObjects = new Map([...namespaces.values()].map((t) => [t.namespaceName, t.namespace]));
    for (const c of this.node.findAll()) {
      if (!ApiObject.isApiObject(c)) continue;
      const target = c.metadata.namespace === undefined ? undefined : nsObjects.get(c.metadata.namespace);
      if (target && !c.node.path.startsWith(`${target.node.scope!.node.path}/`)) c.addDependency(target);
    }
  }

  /**
   * Runs the cross-tree checks over the objects of the chart; returns one message per problem. Only objects of the
   * kinds the checks read are serialised (`CHECKED_KINDS`): this runs at build and again at synth.
   */
  public check(options: CheckOptions = {}): string[] {
    const objects = Chart.of(this)
      .node.findAll()
      .filter((c): c is ApiObject => ApiObject.isApiObject(c) && CHECKED_KINDS.has(c.kind))
      .map((o) => o.toJson() as Record<string, unknown>);
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
}

/** The node pools as declared, what GPU resources each advertises, as rendered, and as sized. */
interface PlacedNodePools {
  readonly specs: readonly PlatformNodePool[];
  readonly resources: ReadonlyMap<string, string[]>;
  readonly rendered: ReadonlyMap<string, GpuNodePool>;
  readonly sizing: CapacitySizing;
}

/** A model router to render: its construct id, owner, cache pools and models. */
interface RouterSpec {
  readonly id: string;
  readonly owner: string;
  readonly pools: readonly string[];
  readonly models: PlatformRouterProps['models'];
  readonly processOverheadGiB: number;
  readonly options?: PlatformRouterOptions;
}

/** GPU resource → the node pools that advertise it. */
function nodePoolsByResource(resources: ReadonlyMap<string, string[]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [np, rs] of resources) for (const r of rs) out.set(r, [...(out.get(r) ?? []), np]);
  return out;
}

/** Each pool's autoscaler kind needs what the cluster declares present (KEDA, prometheus-adapter). */
function checkScalingPrerequisites(pools: ReadonlyMap<string, ServedPool>, prerequisites: ResolvedPrerequisites): void {
  for (const { pool, scaling } of [...pools.values()].sort((a, b) => byString(a.pool.name, b.pool.name))) {
    if (scaling.kind === 'keda' && !prerequisites.keda) {
      throw new Error(`pools["${pool.name}"].scaling: kind keda needs KEDA, which prerequisites.keda declares absent`);
    }
    if (scaling.kind === 'hpa' && !prerequisites.prometheusAdapter) {
      throw new Error(
        `pools["${pool.name}"].scaling: kind hpa needs prometheus-adapter, which prerequisites.prometheusAdapter declares absent`,
      );
    }
  }
}

/** The note of each maximum the node pools' sizes lowered, on the pool's autoscaler. */
function annotateLoweredMaxima(serving: PlatformServing, lowered: ReadonlyMap<string, string>): void {
  for (const [pool, note] of lowered) {
    const a = serving.autoscaling.get(pool);
    (a?.scaledObject ?? a?.horizontalPodAutoscaler)?.metadata.addAnnotation(MAX_REPLICAS_LOWERED_ANNOTATION, note);
  }
}

/** Step 8: each team's setup hook (the hand-written team's, else the planned one's), by team name. */
function runTeamSetupHooks(
  teams: readonly Team[],
  givenTeams: readonly Team[],
  ctx: PlatformContext,
  namespaces: ReadonlyMap<string, TeamNamespace>,
): void {
  for (const t of teams) {
    const given = givenTeams.find((g) => g.name === t.name);
    const ns = namespaces.get(t.name)!;
    if (given?.setup) given.setup(ctx, ns);
    else t.setup?.(ctx, ns);
  }
}

/** CPU (cores) and memory (bytes) one pod of a Deployment requests, read from the rendered Deployment. */
function deploymentRequests(deployment: ApiObject): { cpu: number; memory: number } {
  const json = deployment.toJson() as { spec?: { template?: { spec?: Parameters<typeof podRequests>[0] } } };
  return podRequests(json.spec?.template?.spec);
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
