export * from './types';
export { plan, THOROUGH_MAX_MODELS } from './plan';
export { verifyPlan } from './verify-plan';
export { PlanError } from './plan-error';
export { lowerBound, baselines } from './bounds';
export type { Baselines } from './bounds';
export { ESTIMATE_RULE, ESTIMATE_DERATE } from './entries';
export { migConfigName } from './nodes';
