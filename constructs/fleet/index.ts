export * from './types';
export * from './names';
export * from './errors';
export * from './validate';
export * from './parse';
export { closest, editDistance } from './checks';
export * from './quote';
export * from './input-file';
export * from './throughput';
