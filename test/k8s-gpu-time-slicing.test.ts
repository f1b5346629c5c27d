import { Testing } from 'cdk8s';
import { parse } from 'yaml';
import { TimeSlicingConfig } from '../constructs/k8s/gpu/time-slicing-config';
import { validateObjects } from './support/validate';

describe('TimeSlicingConfig', () => {
  test('renders no-sharing and each time-slicing config as a data key', () => {
    // GIVEN
    const chart = Testing.chart();
    // WHEN
    const ts = new TimeSlicingConfig(chart, 'TS', { configs: [{ name: 'l4-x4', replicas: 4 }] });
    ts.addConfig({ name: 'a10g-x2', replicas: 2, renameByDefault: true, failRequestsGreaterThanOne: true });
    // THEN
    const objs = Testing.synth(chart);
    expect(objs).toHaveLength(1);
    const cm = objs[0];
    expect(cm.metadata.name).toBe('gpufleet-device-plugin-config');
    expect(cm.metadata.namespace).toBe('gpu-operator');
    expect(Object.keys(cm.data)).toEqual(['a10g-x2', 'l4-x4', 'no-sharing']);
    expect(parse(cm.data['no-sharing'])).toStrictEqual({ version: 'v1' });
    expect(parse(cm.data['l4-x4'])).toStrictEqual({
      version: 'v1',
      sharing: { timeSlicing: { resources: [{ name: 'nvidia.com/gpu', replicas: 4 }] } },
    });
    expect(parse(cm.data['a10g-x2'])).toStrictEqual({
      version: 'v1',
      sharing: {
        timeSlicing: { renameByDefault: true, failRequestsGreaterThanOne: true, resources: [{ name: 'nvidia.com/gpu', replicas: 2 }] },
      },
    });
    expect(validateObjects(objs)).toEqual([]);
  });

  test('time-slices MIG resources too, sorted by name', () => {
    const ts = new TimeSlicingConfig(Testing.chart(), 'TS');
    ts.addConfig({
      name: 'mig-shared',
      resources: [
        { name: 'nvidia.com/mig-3g.40gb', replicas: 2 },
        { name: 'nvidia.com/mig-1g.10gb', replicas: 3 },
      ],
    });
    expect(ts.config('mig-shared')!.sharing!.timeSlicing.resources).toEqual([
      { name: 'nvidia.com/mig-1g.10gb', replicas: 3 },
      { name: 'nvidia.com/mig-3g.40gb', replicas: 2 },
    ]);
  });

  test('fails for replicas below 2 or missing', () => {
    const ts = new TimeSlicingConfig(Testing.chart(), 'TS');
    expect(() => ts.addConfig({ name: 'x', replicas: 1 })).toThrow('configs["x"].replicas: expected an integer >= 2, got 1');
    expect(() => ts.addConfig({ name: 'y' })).toThrow('configs["y"].replicas: expected an integer >= 2, got undefined');
  });

  test('fails for a duplicate config name (no-sharing included)', () => {
    const ts = new TimeSlicingConfig(Testing.chart(), 'TS', { configs: [{ name: 'l4-x4', replicas: 4 }] });
    expect(() => ts.addConfig({ name: 'l4-x4', replicas: 2 })).toThrow(
      'configs.name: a device-plugin config named "l4-x4" already exists in gpufleet-device-plugin-config; names must be unique',
    );
    expect(() => ts.addConfig({ name: 'no-sharing', replicas: 2 })).toThrow('a device-plugin config named "no-sharing" already exists');
  });

  test('fails for bad names and resource names', () => {
    const ts = new TimeSlicingConfig(Testing.chart(), 'TS');
    expect(() => ts.addConfig({ name: 'L4 x4', replicas: 4 })).toThrow(/^configs.name: expected 1-63 lowercase letters/);
    expect(() => ts.addConfig({ name: 'x', resources: [{ name: 'amd.com/gpu', replicas: 2 }] })).toThrow(
      'configs["x"].resources[0].name: expected nvidia.com/gpu or nvidia.com/mig-<profile>, got "amd.com/gpu"',
    );
    expect(() => ts.addConfig({ name: 'x', resources: [] })).toThrow('configs["x"].resources: expected at least one resource, got none');
    expect(() => new TimeSlicingConfig(Testing.chart(), 'TS', { name: 'Device_Plugin' })).toThrow(/^name: expected a DNS-1123 label/);
  });
});
