import type { Construct } from 'constructs';
import type { ServingPlatformProps } from './serving-platform-props';
import { BUILT_IN_PARTS, PlatformContext, PlatformInstance, Team, TeamAddOn } from '../teams/team-contract';

/**
 * Rejects teams and add-ons registered more than once, and add-ons that take a built-in part's id.
 * Teams are compared by name, add-ons by id.
 */
export function checkRegistrations(teams: readonly Team[], addOns: readonly TeamAddOn[]): void {
  const seenTeams = new Set<string>();
  for (const team of teams) {
    if (seenTeams.has(team.name)) throw new Error(`team "${team.name}" is registered more than once`);
    seenTeams.add(team.name);
  }
  const seenAddOns = new Set<string>();
  for (const addOn of addOns) {
    if (typeof addOn.id !== 'string' || addOn.id.length === 0) {
      throw new Error(`addOns: expected every add-on to have a non-empty id, got ${JSON.stringify(addOn.id)}`);
    }
    if ((BUILT_IN_PARTS as readonly string[]).includes(addOn.id)) {
      throw new Error(`add-on "${addOn.id}" uses the id of a built-in part (${BUILT_IN_PARTS.join(', ')})`);
    }
    if (seenAddOns.has(addOn.id)) throw new Error(`add-on "${addOn.id}" is registered more than once`);
    seenAddOns.add(addOn.id);
  }
}

/**
 * Deploys add-ons in declared order. Each add-on's `dependsOn` ids must name a built-in part or an
 * add-on declared (and so deployed) before it; `ctx.deployed` grows as add-ons deploy.
 */
export function deployAddOns(ctx: PlatformContext & { readonly deployed: string[] }, addOns: readonly TeamAddOn[]): void {
  const declared = new Set(addOns.map((a) => a.id));
  for (const addOn of addOns) {
    for (const dep of addOn.dependsOn ?? []) {
      if (ctx.deployed.includes(dep)) continue;
      const hint = declared.has(dep)
        ? `; "${dep}" is declared after "${addOn.id}", and add-ons deploy in declared order`
        : `; deployed before it: ${ctx.deployed.join(', ') || 'nothing'}`;
      throw new Error(`missing dependency "${dep}" of add-on "${addOn.id}"${hint}`);
    }
    addOn.deploy(ctx);
    ctx.deployed.push(addOn.id);
  }
}

type Mutable<T> = { -readonly [K in keyof T]?: T[K] };

/**
 * Fluent construction of a `ServingPlatform`, so a platform stack reads like a list of teams:
 *
 * ```ts
 * ServingPlatform.builder()
 *   .cluster({ name: 'prod', nodeRole: 'KarpenterNodeRole-prod' })
 *   .nodePools({ name: 'h100-mixed', gpuType: 'H100-80GB', layout: MigLayout.fromProfiles('h100-mixed', 'H100-80GB', { '3g.40gb': 2 }) })
 *   .repository(ModelRepository.s3({ bucket: 'models', region: 'us-east-1' }))
 *   .teams(vision, nlp)
 *   .build(chart, 'Platform');
 * ```
 *
 * Each method returns the builder; `nodePools`, `addOns` and `teams` append, the others replace.
 * `build()` checks registrations (duplicate teams or add-ons fail) and creates the platform.
 */
export class PlatformBuilder {
  private props: Mutable<ServingPlatformProps> = {};

  constructor(private readonly factory: (scope: Construct, id: string, props: ServingPlatformProps) => PlatformInstance) {}

  /** The EKS cluster the GPU node pools join. */
  public cluster(cluster: ServingPlatformProps['cluster']): this {
    this.props.cluster = cluster;
    return this;
  }

  /** GPU operator settings. */
  public gpuOperator(gpuOperator: ServingPlatformProps['gpuOperator']): this {
    this.props.gpuOperator = gpuOperator;
    return this;
  }

  /** Appends GPU node pools (each with its MIG layout). */
  public nodePools(...nodePools: NonNullable<ServingPlatformProps['nodePools']>[number][]): this {
    this.props.nodePools = [...(this.props.nodePools ?? []), ...nodePools];
    return this;
  }

  /** The shared model repository. */
  public repository(repository: ServingPlatformProps['repository']): this {
    this.props.repository = repository;
    return this;
  }

  /** Routing options (gateway, hostname). */
  public routes(routes: ServingPlatformProps['routes']): this {
    this.props.routes = routes;
    return this;
  }

  /** Scaling of pools that do not set their own. */
  public defaultScaling(scaling: ServingPlatformProps['defaultScaling']): this {
    this.props.defaultScaling = scaling;
    return this;
  }

  /** Triton settings every pool shares (image, resources, ...). */
  public poolDefaults(defaults: ServingPlatformProps['poolDefaults']): this {
    this.props.poolDefaults = defaults;
    return this;
  }

  /** Renders a plan (from `plan(fleet)`) instead of hand-written pools. */
  public plan(plan: ServingPlatformProps['plan']): this {
    this.props.plan = plan;
    return this;
  }

  /** Any other platform setting. */
  public with(props: Partial<ServingPlatformProps>): this {
    this.props = { ...this.props, ...props };
    return this;
  }

  /** Appends add-ons; they deploy in the order declared, after the built-in parts. */
  public addOns(...addOns: TeamAddOn[]): this {
    this.props.addOns = [...(this.props.addOns ?? []), ...addOns];
    return this;
  }

  /** Appends teams. */
  public teams(...teams: Team[]): this {
    this.props.teams = [...(this.props.teams ?? []), ...teams];
    checkRegistrations(this.props.teams, []);
    return this;
  }

  /** A copy of this builder, to derive variants (e.g. per environment). */
  public clone(): PlatformBuilder {
    const copy = new PlatformBuilder(this.factory);
    copy.props = { ...this.props };
    return copy;
  }

  /** Creates the platform under `scope`. */
  public build(scope: Construct, id: string): PlatformInstance {
    checkRegistrations(this.props.teams ?? [], this.props.addOns ?? []);
    return this.factory(scope, id, this.props as ServingPlatformProps);
  }
}
