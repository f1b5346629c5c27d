export * from './types';
export * from './gpu-types';
export * from './instance-types';
export * from './layout';
