/**
 * Label and annotation keys: one definition (constructs/k8s/common/labels.ts), exported once from the barrel, and
 * used by the node pool, the Triton pool and the cloud node groups.
 */
import * as k8sBarrel from '../constructs/k8s';
import * as labels from '../constructs/k8s/common/labels';

describe('label keys', () => {
  test('the barrel exports the one definition of each key', () => {
    expect(k8sBarrel.POOL_LABEL).toBe('gpufleet.io/pool');
    expect(k8sBarrel.MIG_CONFIG_LABEL).toBe('nvidia.com/mig.config');
    expect(k8sBarrel.DEVICE_PLUGIN_CONFIG_LABEL).toBe('nvidia.com/device-plugin.config');
    expect(k8sBarrel.GPU_PRODUCT_LABEL).toBe('nvidia.com/gpu.product');
    expect(k8sBarrel.TEAM_LABEL).toBe('gpufleet.io/team');
    expect(k8sBarrel.TRITON_POOL_LABEL).toBe('gpufleet.io/triton-pool');
    expect(k8sBarrel.TRITON_MODEL_LABEL_PREFIX).toBe('model.gpufleet.io/');
    expect(k8sBarrel.CACHE_POOL_LABEL).toBe('gpufleet.io/cache-pool');
    expect(k8sBarrel.MODEL_CONFIGS_ANNOTATION).toBe('gpufleet.io/model-configs');
    for (const [name, value] of Object.entries(labels)) expect((k8sBarrel as Record<string, unknown>)[name]).toBe(value);
  });

  test('the construct modules do not define their own copies', () => {
    const modules = [
      'gpu/gpu-node-pool',
      'serving/triton-pool',
      'platform/platform-checks',
      'platform/platform-facts',
      'platform/node-pool-facts',
      'teams/team-namespace',
      'serving/pool-autoscaling',
      'serving/model-routes',
    ]
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      .map((m) => [m, require(`../constructs/k8s/${m}`)] as const);
    for (const [m, exports] of modules) {
      for (const name of Object.keys(labels)) {
        expect([m, name, name in exports]).toEqual([m, name, false]);
      }
    }
  });
});
