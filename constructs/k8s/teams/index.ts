/**
 * Teams: the team contract (teams, their models and pools, add-ons) and the team namespace. Public constructs, their props
 * and types; helpers are imported from their files.
 */
export {
  TEAM_CONSUMPTION_ANNOTATION,
  TEAM_COST_ANNOTATION,
  CONSUMPTION_ANNOTATION,
  SERVED_TEAM_LABEL_PREFIX,
} from './team-consumption-annotations';
export type { TeamConsumptionAnnotationsProps } from './team-consumption-annotations';
export { BUILT_IN_PARTS } from './team-contract';
export type { PoolScaling, TeamModel, TeamPool, SharedPool, Team, TeamAddOn, PlatformInstance, PlatformContext } from './team-contract';
export { TeamNamespace } from './team-namespace';
export type { ContainerDefaults, TeamQuota, RepositoryEgress, TeamNamespaceProps } from './team-namespace';
