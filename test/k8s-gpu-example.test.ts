import * as os from 'os';
import * as path from 'path';
import { App, Testing } from 'cdk8s';
import { parse } from 'yaml';
import { checkLayout, getGpuType, placeProfiles } from '../constructs/catalog';
import { buildGpuInfrastructure } from '../examples/gpu-infrastructure';
import { validateObjects } from './support/validate';

/** Synthesizes the example into YAML text the way `npm run synth` does. */
function synthYaml(reverseLayouts: boolean): string {
  const app = new App({ outdir: path.join(os.tmpdir(), 'gpufleet-synth-unused') }); // synthYaml writes no files
  buildGpuInfrastructure(app, 'gpu-infrastructure', { reverseLayouts });
  return app.synthYaml();
}

describe('examples/gpu-infrastructure (the default synth output)', () => {
  const objs = Testing.synth(buildGpuInfrastructure(Testing.app()).chart);
  const find = (kind: string, name?: string) => objs.filter((o) => o.kind === kind && (!name || o.metadata.name === name));

  test('every object validates against the Kubernetes schemas and the CRDs', () => {
    expect(objs.length).toBeGreaterThanOrEqual(11);
    expect(validateObjects(objs)).toEqual([]);
  });

  test('the HelmRelease sets mig.strategy and the MIG manager config name', () => {
    const [release] = find('HelmRelease', 'gpu-operator');
    expect(release.spec.chart.spec.version).toBe('v26.7.0');
    expect(release.spec.values.mig.strategy).toBe('mixed');
    expect(release.spec.values.migManager).toEqual({
      enabled: true,
      config: { create: false, name: 'gpufleet-mig-parted-config', default: 'all-disabled' },
    });
    expect(release.spec.values.devicePlugin.config.name).toBe('gpufleet-device-plugin-config');
    expect([release.spec.values.driver.enabled, release.spec.values.toolkit.enabled]).toEqual([false, false]);
    expect(release.spec.values.dcgmExporter.serviceMonitor.enabled).toBe(true);
  });

  test('every mig-parted layout is legal for its GPU per the catalog (re-checked from the ConfigMap YAML)', () => {
    const [cm] = find('ConfigMap', 'gpufleet-mig-parted-config');
    const configs = parse(cm.data['config.yaml'])['mig-configs'] as Record<string, any[]>;
    expect(Object.keys(configs)).toEqual(['all-disabled', 'h100-1g-x7', 'h100-balanced']);
    const h100 = getGpuType('H100-80GB');
    for (const [name, entries] of Object.entries(configs)) {
      for (const entry of entries) {
        if (!entry['mig-enabled']) continue;
        expect({ name, filter: entry['device-filter'] }).toEqual({ name, filter: [...h100.pciDeviceIds] });
        const profiles = Object.entries(entry['mig-devices'] as Record<string, number>).flatMap(([p, n]) => new Array(n).fill(p));
        const placed = placeProfiles(h100, profiles);
        expect({ name, placed: placed !== undefined }).toEqual({ name, placed: true });
        expect(checkLayout(h100, placed!)).toEqual([]);
      }
    }
    expect(configs['h100-balanced'][0]['mig-devices']).toEqual({ '1g.10gb': 2, '2g.20gb': 1, '3g.40gb': 1 });
  });

  test('the H100 NodePool has the mig.config label, the GPU taint and the GPU instance requirement', () => {
    const [np] = find('NodePool', 'h100-mig');
    expect(np.spec.template.metadata.labels['nvidia.com/mig.config']).toBe('h100-balanced');
    expect(np.spec.template.metadata.labels['gpufleet.io/pool']).toBe('h100-mig');
    expect(np.spec.template.spec.taints).toContainEqual({ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' });
    expect(np.spec.template.spec.requirements).toContainEqual({
      key: 'node.kubernetes.io/instance-type',
      operator: 'In',
      values: ['p5.48xlarge'],
    });
    expect(find('EC2NodeClass', 'h100-mig')).toHaveLength(1);
    // the overlay replaces Karpenter's view: no whole GPU on a node whose GPUs are all cut (mixed strategy)
    expect(find('NodeOverlay', 'h100-mig-gpu-capacity')[0].spec.capacity).toEqual({
      'nvidia.com/gpu': 0,
      'nvidia.com/mig-1g.10gb': 16,
      'nvidia.com/mig-2g.20gb': 8,
      'nvidia.com/mig-3g.40gb': 8,
    });
  });

  test('the L4 pool is time-sliced through the device-plugin ConfigMap', () => {
    const [np] = find('NodePool', 'l4-shared');
    expect(np.spec.template.metadata.labels['nvidia.com/device-plugin.config']).toBe('l4-x4');
    expect(np.spec.template.spec.requirements).toContainEqual({
      key: 'node.kubernetes.io/instance-type',
      operator: 'In',
      values: ['g6.xlarge'],
    });
    expect(np.spec.template.spec.taints).toContainEqual({ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' });
    const [cm] = find('ConfigMap', 'gpufleet-device-plugin-config');
    expect(parse(cm.data['l4-x4']).sharing.timeSlicing.resources).toEqual([{ name: 'nvidia.com/gpu', replicas: 4 }]);
  });

  test('the same input in another order gives byte-identical YAML', () => {
    const a = synthYaml(false);
    const b = synthYaml(true);
    expect(a.length).toBeGreaterThan(1000);
    expect(b).toBe(a);
  });
});
