export * from './types';
export { plan, THOROUGH_MAX_MODELS } from './plan';
export { verifyPlan } from './verify-plan';
export { PlanError } from './plan-error';
export { lowerBound, demandProblems, MAX_PLAN_GPUS } from './bounds';
export { baselines } from './baselines';
export type { Baselines } from './baselines';
export { RULE_EPSILON, PLAN_QUANTUM } from './tolerance';
export { ESTIMATE_RULE, ESTIMATE_DERATE } from './entries';
export { migConfigName } from './nodes';
export { teamConsumption, sliceConsumption, sliceFraction, withTeamConsumption } from './team-consumption';
export type { SliceTeamConsumption } from './team-consumption';
export { tightBound } from './tight-bound';
export type { TightBoundOptions, TightBoundResult } from './tight-bound';
export { warmUpSolver } from './lp-solver';
export type { WarmUpOptions } from './lp-solver';
export { replan, DEFAULT_MOVED_MODEL_PRICE, DEFAULT_RECUT_GPU_PRICE } from './replan';
export type { Replan, ReplanCandidate, ReplanOptions } from './replan';
export { diffPlans } from './plan-changes';
export type { PlanChanges } from './plan-changes';
export { planMigration } from './migration';
export type { MigrationOptions } from './migration';
export { checkMigration } from './migration-check';
export type { MigrationCheckOptions } from './migration-check';
export * from './migration-types';
export {
  topologyOf,
  nodePoolsOf,
  nodeGroupName,
  routeWeights,
  dnsLabel,
  ROUTE_WEIGHT_TOTAL,
  WHOLE_PROFILE,
  ALL_DISABLED,
  SHARED_OWNER,
} from './topology';
export type {
  Topology,
  TopologyNodePool,
  TopologyInstanceNodes,
  TopologyServerGroup,
  TopologyModelDemand,
  TopologyPlacement,
  TopologyCachePool,
  TopologyColdModel,
  TopologyColdTier,
} from './topology';
