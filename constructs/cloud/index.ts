export * from './iam-documents';
export * from './gpu-cluster';
export * from './gpu-node-group';
export * from './model-repository-bucket';
export * from './gpu-operator-release';
export * from './platform-release';
export * from './gpu-platform';
export * from './cluster-autoscaler';
