export * from './team-namespace';
export * from './team-contract';
export * from './platform-checks';
