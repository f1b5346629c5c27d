/**
 * The k8s (cdk8s) layer, grouped by concern: common/ → gpu/ → serving/ → teams/ → platform/, and check/ (which reads
 * them all). Each sub-folder's barrel exports its public constructs, props and types; helper functions stay in their files.
 */
export * from './common';
export * from './gpu';
export * from './serving';
export * from './teams';
export * from './platform';
export * from './check';
