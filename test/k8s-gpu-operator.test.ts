import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { parse } from 'yaml';
import { GpuOperator } from '../constructs/k8s/gpu/gpu-operator';
import { gpuOperatorValues } from '../constructs/k8s/gpu/gpu-operator-values';
import { MigConfig } from '../constructs/k8s/gpu/mig-config';
import { MigLayout } from '../constructs/k8s/gpu/mig-layout';
import { TimeSlicingConfig } from '../constructs/k8s/gpu/time-slicing-config';
import { testIf } from './support/notes';
import { validateObjects } from './support/validate';

const CHART_VALUES = path.resolve(__dirname, '..', '..', 'shared', 'crds', 'gpu-operator', 'values.yaml');
const testWithValues = testIf(fs.existsSync(CHART_VALUES), `needs the chart's values.yaml, and ${CHART_VALUES} is absent`);

/** Free-form maps of the chart (label maps): their keys are data, not chart keys. */
const MAPS = new Set(['nodeSelector', 'additionalLabels']);

/** Every key path of a plain object, e.g. `migManager.config.name`; arrays, maps and empty objects are leaves. */
function keyPaths(obj: any, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) => {
    const p = prefix ? `${prefix}.${k}` : k;
    return v && typeof v === 'object' && !Array.isArray(v) && !MAPS.has(k) && Object.keys(v).length > 0 ? keyPaths(v, p) : [p];
  });
}

describe('gpuOperatorValues', () => {
  test('defaults: AL2023 NVIDIA AMI (driver and toolkit off), mixed strategy, MIG manager and ServiceMonitor on', () => {
    const v = gpuOperatorValues({ migConfigName: 'gpufleet-mig', devicePluginConfigName: 'gpufleet-dp' });
    expect(v.driver).toEqual({ enabled: false });
    expect(v.toolkit).toEqual({ enabled: false });
    expect(v.mig).toEqual({ strategy: 'mixed' });
    expect(v.migManager).toEqual({ enabled: true, config: { create: false, name: 'gpufleet-mig', default: 'all-disabled' } });
    expect(v.devicePlugin).toEqual({ enabled: true, config: { create: false, name: 'gpufleet-dp', default: 'no-sharing' } });
    expect(v.dcgmExporter.serviceMonitor.enabled).toBe(true);
    expect(v.daemonsets.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(JSON.parse(JSON.stringify(v))).toStrictEqual(v); // plain JSON, as helm.v3.Release takes it
  });

  test('Bottlerocket: driver, toolkit and the operator device plugin off; generic images: driver and toolkit on', () => {
    const br = gpuOperatorValues({ nodeImage: 'bottlerocket-nvidia' });
    expect([br.driver.enabled, br.toolkit.enabled, br.devicePlugin.enabled]).toEqual([false, false, false]);
    const generic = gpuOperatorValues({ nodeImage: 'generic', migStrategy: 'single', serviceMonitor: false });
    expect([generic.driver.enabled, generic.toolkit.enabled, generic.devicePlugin.enabled]).toEqual([true, true, true]);
    expect(generic.mig.strategy).toBe('single');
    expect(generic.dcgmExporter.serviceMonitor.enabled).toBe(false);
    expect(generic.migManager).toEqual({ enabled: true });
  });

  test('is pure: same options give equal objects', () => {
    const o = { migConfigName: 'm', serviceMonitorLabels: { b: '2', a: '1' } };
    expect(gpuOperatorValues(o)).toStrictEqual(gpuOperatorValues({ ...o }));
    expect(Object.keys(gpuOperatorValues(o).dcgmExporter.serviceMonitor.additionalLabels)).toEqual(['a', 'b']);
  });

  testWithValues('every key it sets exists in the chart values.yaml (v26.7.0)', () => {
    const chartValues = parse(fs.readFileSync(CHART_VALUES, 'utf8'));
    const has = (p: string) =>
      p.split('.').reduce((o: any, k) => (o && typeof o === 'object' && k in o ? o[k] : undefined), chartValues) !== undefined;
    const v = gpuOperatorValues({ migConfigName: 'm', devicePluginConfigName: 'd' });
    const missing = keyPaths(v).filter((p) => !has(p));
    expect(missing).toEqual([]);
    expect(keyPaths(v)).toContain('migManager.config.name');
  });

  test('fails for bad options', () => {
    expect(() => gpuOperatorValues({ nodeImage: 'ubuntu' as any })).toThrow(
      'nodeImage: expected "al2023-nvidia", "bottlerocket-nvidia" or "generic", got "ubuntu"',
    );
    expect(() => gpuOperatorValues({ migStrategy: 'none' as any })).toThrow('migStrategy: expected "mixed" or "single", got "none"');
    expect(() => gpuOperatorValues({ migConfigName: 'Bad Name' })).toThrow(/^migConfigName: expected a DNS-1123 label/);
    expect(() => gpuOperatorValues({ scrapeInterval: 'often' })).toThrow(
      'scrapeInterval: expected a duration such as 15s or 1m, got "often"',
    );
  });
});

describe('GpuOperator', () => {
  test('renders Namespace, HelmRepository, HelmRelease and its ConfigMaps, all valid', () => {
    // GIVEN
    const chart = Testing.chart();
    // WHEN
    const op = new GpuOperator(chart, 'Op');
    op.migConfig.addLayout(MigLayout.fromProfiles('h100-balanced', 'H100-80GB', { '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 }));
    // THEN
    const objs = Testing.synth(chart);
    const kinds = objs.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds.sort()).toEqual([
      'ConfigMap/gpufleet-device-plugin-config',
      'ConfigMap/gpufleet-mig-parted-config',
      'ConfigMap/gpufleet-mig-parted-config-relayout',
      'HelmRelease/gpu-operator',
      'HelmRepository/nvidia',
      'Namespace/gpu-operator',
    ]);
    const repo = objs.find((o) => o.kind === 'HelmRepository');
    expect(repo.spec.url).toBe('https://helm.ngc.nvidia.com/nvidia');
    const release = objs.find((o) => o.kind === 'HelmRelease');
    expect(release.apiVersion).toBe('helm.toolkit.fluxcd.io/v2');
    expect(release.metadata.namespace).toBe('gpu-operator');
    expect(release.spec.chart.spec).toEqual({
      chart: 'gpu-operator',
      version: 'v26.7.0',
      interval: '24h',
      sourceRef: { kind: 'HelmRepository', name: 'nvidia', namespace: 'gpu-operator' },
    });
    expect(release.spec.values.mig.strategy).toBe('mixed');
    expect(release.spec.values.migManager.config.name).toBe('gpufleet-mig-parted-config');
    expect(release.spec.values.devicePlugin.config.name).toBe('gpufleet-device-plugin-config');
    expect(release.spec.values).toEqual(JSON.parse(JSON.stringify(op.values)));
    // the namespace comes first, the release after the ConfigMaps it names
    const order = objs.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(order[0]).toBe('Namespace/gpu-operator');
    expect(order.indexOf('HelmRelease/gpu-operator')).toBeGreaterThan(order.indexOf('ConfigMap/gpufleet-mig-parted-config'));
    expect(validateObjects(objs)).toEqual([]);
  });

  test('uses given ConfigMaps and takes options through to the values', () => {
    const chart = Testing.chart();
    const mig = new MigConfig(chart, 'Mig', { name: 'my-mig', namespace: 'gpu' });
    const ts = new TimeSlicingConfig(chart, 'TS', { name: 'my-dp', namespace: 'gpu', configs: [{ name: 'x4', replicas: 4 }] });
    const op = new GpuOperator(chart, 'Op', {
      namespace: 'gpu',
      migConfig: mig,
      timeSlicing: ts,
      devicePluginDefaultConfig: 'x4',
      nodeImage: 'bottlerocket-nvidia',
    });
    expect(op.values.migManager.config!.name).toBe('my-mig');
    expect(op.values.devicePlugin.config).toEqual({ create: false, name: 'my-dp', default: 'x4' });
    expect(op.values.driver.enabled).toBe(false);
    expect(
      Testing.synth(chart)
        .filter((o) => o.kind === 'ConfigMap')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['my-dp', 'my-mig', 'my-mig-relayout']);
  });

  test('fails for a ConfigMap in another namespace', () => {
    const chart = Testing.chart();
    const mig = new MigConfig(chart, 'Mig', { namespace: 'elsewhere' });
    expect(() => new GpuOperator(chart, 'Op', { migConfig: mig })).toThrow(
      'migConfig: expected a ConfigMap in namespace "gpu-operator" (the operator reads it there), got namespace "elsewhere"',
    );
  });

  test('fails at synth for a default config the ConfigMaps do not have', () => {
    const chart = Testing.chart();
    new GpuOperator(chart, 'Op', { migDefaultConfig: 'h100-missing', devicePluginDefaultConfig: 'x9' });
    expect(() => Testing.synth(chart)).toThrow(/migDefaultConfig: expected one of all-disabled, got "h100-missing"/);
    expect(() => Testing.synth(chart)).toThrow(/devicePluginDefaultConfig: expected one of no-sharing, got "x9"/);
  });

  test('fails at synth for the single strategy with mixed layouts', () => {
    const chart = Testing.chart();
    const op = new GpuOperator(chart, 'Op', { migStrategy: 'single' });
    op.migConfig.addLayout(MigLayout.fromProfiles('h100-mixed', 'H100-80GB', { '3g.40gb': 1, '1g.10gb': 4 }));
    expect(() => Testing.synth(chart)).toThrow(/strategy: "single" needs one profile on every GPU of the node, MIG layout "h100-mixed"/);
  });

  test('fails for bad namespace, chart version or interval', () => {
    expect(() => new GpuOperator(Testing.chart(), 'Op', { namespace: 'GPU' })).toThrow(/^namespace: expected a DNS-1123 label/);
    expect(() => new GpuOperator(Testing.chart(), 'Op', { chartVersion: 'latest' })).toThrow(
      'chartVersion: expected a chart version such as v26.7.0, got "latest"',
    );
    expect(() => new GpuOperator(Testing.chart(), 'Op', { interval: 'hourly' })).toThrow(
      'interval: expected a duration such as 1h or 10m, got "hourly"',
    );
  });
});
