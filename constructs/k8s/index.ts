export * from './team-namespace';
