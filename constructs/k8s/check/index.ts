/**
 * `gpufleet check`: proof that a rendering schedules and serves on the real consumers. Public constructs, their props and
 * types; helpers are imported from their files.
 */
export type { CheckRule, CheckFinding } from './check-capacity';
export type {
  MigPartedEntry,
  TimeSlicingFacts,
  OperatorFacts,
  NodePoolModel,
  OverlayModel,
  GpuWorkload,
  RenderingModel,
} from './check-model';
export { formatFinding, summarizeCheck, checkRendering } from './check-rendering';
export type { CheckRenderingOptions, CheckResult } from './check-rendering';
