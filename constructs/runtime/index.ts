export * from './config';
export * from './metrics';
export * from './backend';
export * from './model-cache';
export * from './router';
export { runRouterCli } from './cli';
export type { Log, LogLevel } from './log';
export { stderrLog } from './log';
export * from './grpc-repository';
