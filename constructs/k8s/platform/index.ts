/**
 * The serving platform: `ServingPlatform` and its builder, plan rendering, the platform file, prerequisites, cross-tree
 * checks, the migration runbook. Public constructs, their props and types; helpers are imported from their files.
 */
export { FLEET_CHART_ID, PLAN_FILE, MANIFEST_FILE, fleetPlatformProps, renderFleetPlatform, synthesizeFleet } from './fleet-platform';
export type { FleetPlatformOverrides, FleetPlatformOptions, FleetSynthesis } from './fleet-platform';
export { migrationRunbook, renderRunbookText } from './migration-runbook';
export type { RunbookPath, RunbookOptions, RunbookOperation, RunbookStep, Runbook } from './migration-runbook';
export { PlatformBuilder } from './platform-builder';
export { checkPlatformObjects } from './platform-checks';
export type { CheckOptions } from './platform-checks';
export type { NodePoolFacts, Taint } from './node-pool-facts';
export type { Toleration, NodeRequirement, PoolFacts, QuotaFacts, LimitDefaultsFacts, RouterFacts, PlatformFacts } from './platform-facts';
export { PlatformFileError, PLATFORM_FILE_KEYS, validatePlatformDocument, parsePlatformFile, loadPlatformFile } from './platform-file';
export type { PlatformFileScaling, PlatformFile } from './platform-file';
export { METRICS_SOURCES, PREREQUISITES_CONFIGMAP, PREREQUISITES_KEY, PrerequisitesDeclaration } from './platform-prerequisites';
export type { PlatformPrerequisites, ResolvedPrerequisites, PrerequisitesDeclarationProps } from './platform-prerequisites';
export type { CapacityNodePool, CapacityDemand, CapacitySizing } from './serving-platform-capacity';
export { planDeclaration } from './serving-platform-plan';
export type { PlatformNodePool, PlanRenderOptions, PlannedColdPool, PlannedColdTier, PlannedPlatform } from './serving-platform-plan';
export type { PlatformCluster, PlatformPlan, PoolDefaults, ServingPlatformProps } from './serving-platform-props';
export { PlatformRouter } from './serving-platform-router';
export type { PlatformRouterOptions, PlatformRouterProps } from './serving-platform-router';
export { PlatformServing } from './serving-platform-serving';
export type {
  PlatformRoutingOptions,
  PlatformRoutesOptions,
  ServedPool,
  RoutedRouter,
  PlatformServingProps,
} from './serving-platform-serving';
export { MAX_REPLICAS_LOWERED_ANNOTATION, ServingPlatform } from './serving-platform';
