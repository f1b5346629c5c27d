import { checkLayout } from '../constructs/catalog';
import { MigLayout } from '../constructs/k8s/gpu/mig-layout';

describe('MigLayout.fromProfiles', () => {
  test('places a mixed H100-80GB layout legally and counts its resources per GPU and per node', () => {
    // GIVEN / WHEN
    const layout = MigLayout.fromProfiles('h100-balanced', 'H100-80GB', { '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 });
    // THEN
    expect(layout.name).toBe('h100-balanced');
    expect(layout.gpuType.id).toBe('H100-80GB');
    expect(layout.allDevices).toBe(true);
    const slices = layout.devices[0].slices!;
    expect(slices).toHaveLength(4);
    expect(checkLayout('H100-80GB', slices)).toEqual([]);
    expect(layout.resourceCounts()).toEqual({ 'nvidia.com/mig-1g.10gb': 2, 'nvidia.com/mig-2g.20gb': 1, 'nvidia.com/mig-3g.40gb': 1 });
    expect(layout.resourceCounts({ gpusPerNode: 8 })).toEqual({
      'nvidia.com/mig-1g.10gb': 16,
      'nvidia.com/mig-2g.20gb': 8,
      'nvidia.com/mig-3g.40gb': 8,
    });
    expect(Object.keys(layout.resourceCounts())).toEqual(['nvidia.com/mig-1g.10gb', 'nvidia.com/mig-2g.20gb', 'nvidia.com/mig-3g.40gb']);
  });

  test('accepts 7 × 1g.10gb on A100-80GB and 3g.40gb + 4g.40gb', () => {
    expect(MigLayout.fromProfiles('a100-1g', 'A100-80GB', { '1g.10gb': 7 }).resourceCounts()).toEqual({ 'nvidia.com/mig-1g.10gb': 7 });
    const l = MigLayout.fromProfiles('a100-4-3', 'A100-80GB', { '4g.40gb': 1, '3g.40gb': 1 });
    expect(l.devices[0].slices).toEqual([
      { profile: '4g.40gb', start: 0 },
      { profile: '3g.40gb', start: 4 },
    ]);
  });

  test('maps +me profiles to .me resources', () => {
    const l = MigLayout.fromProfiles('h100-me', 'H100-80GB', { '1g.10gb+me': 1, '1g.10gb': 6 });
    expect(l.resourceCounts()).toEqual({ 'nvidia.com/mig-1g.10gb': 6, 'nvidia.com/mig-1g.10gb.me': 1 });
  });

  test('single strategy counts every MIG device as nvidia.com/gpu when all slices are alike', () => {
    const l = MigLayout.fromProfiles('h100-1g', 'H100-80GB', { '1g.10gb': 7 });
    expect(l.resourceCounts({ gpusPerNode: 8, strategy: 'single' })).toEqual({ 'nvidia.com/gpu': 56 });
  });

  test('fails for 4g.40gb + 4g.40gb on A100-80GB, naming the GPU, the layout and the reason', () => {
    expect(() => MigLayout.fromProfiles('two-4g', 'A100-80GB', { '4g.40gb': 2 })).toThrow(
      'MIG layout "two-4g" is illegal on A100-80GB (profiles): 4g.40gb: 2 instances, at most 1 allowed on A100-80GB; compute slices ' +
        'add up to 8, more than the 7 of A100-80GB',
    );
  });

  test('fails for a profile the GPU does not have', () => {
    expect(() => MigLayout.fromProfiles('bad', 'H100-80GB', { '3g.71gb': 1 })).toThrow(
      /MIG layout "bad" is illegal on H100-80GB \(profiles\): unknown MIG profile "3g.71gb" for GPU type H100-80GB; valid: /,
    );
  });

  test('fails for a count that is not a positive integer', () => {
    expect(() => MigLayout.fromProfiles('bad', 'H100-80GB', { '1g.10gb': 0 })).toThrow(
      'MIG layout "bad" is illegal on H100-80GB (profiles): 1g.10gb: expected an integer count >= 1, got 0',
    );
    expect(() => MigLayout.fromProfiles('bad', 'H100-80GB', { '1g.10gb': 1.5 })).toThrow('expected an integer count >= 1, got 1.5');
  });

  test('fails for an empty layout', () => {
    expect(() => MigLayout.fromProfiles('empty', 'H100-80GB', {})).toThrow(
      'MIG layout "empty" is illegal on H100-80GB (profiles): expected at least one MIG instance, got none',
    );
  });

  test('fails for more slices than fit (3 × 3g.40gb)', () => {
    expect(() => MigLayout.fromProfiles('three-3g', 'H100-80GB', { '3g.40gb': 3 })).toThrow(
      /3g\.40gb: 3 instances, at most 2 allowed on H100-80GB/,
    );
  });

  test('fails for a GPU type without MIG', () => {
    expect(() => MigLayout.fromProfiles('l4', 'L4', { '1g.10gb': 1 })).toThrow(
      /MIG layout "l4" gpuType: L4 has no MIG profiles in the catalog/,
    );
  });

  test('fails for an unknown GPU type', () => {
    expect(() => MigLayout.fromProfiles('x', 'Z100', { '1g.10gb': 1 })).toThrow('unknown GPU type "Z100"');
  });

  test('fails for bad names', () => {
    expect(() => MigLayout.fromProfiles('H100 Mixed', 'H100-80GB', { '1g.10gb': 1 })).toThrow(
      "MIG layout name: expected 1-63 lowercase letters, digits, '-', '_' or '.', starting and ending with a letter or digit, got " +
        '"H100 Mixed"',
    );
    expect(() => MigLayout.fromProfiles('a'.repeat(64), 'H100-80GB', { '1g.10gb': 1 })).toThrow('MIG layout name: expected 1-63');
    expect(() => MigLayout.fromProfiles('all-disabled', 'H100-80GB', { '1g.10gb': 1 })).toThrow(
      'MIG layout name: "all-disabled" is reserved',
    );
  });
});

describe('MigLayout.fromPlacements on H200-141GB', () => {
  test('accepts 4g.71gb@0 + 3g.71gb@4', () => {
    const l = MigLayout.fromPlacements('h200-4-3', 'H200-141GB', [
      { profile: '3g.71gb', start: 4 },
      { profile: '4g.71gb', start: 0 },
    ]);
    expect(l.devices[0].slices).toEqual([
      { profile: '4g.71gb', start: 0 },
      { profile: '3g.71gb', start: 4 },
    ]);
    expect(l.resourceCounts()).toEqual({ 'nvidia.com/mig-3g.71gb': 1, 'nvidia.com/mig-4g.71gb': 1 });
  });

  test('accepts 2g.35gb@0 + 2g.35gb@2 + 2g.35gb@4 + 1g.18gb@6', () => {
    const l = MigLayout.fromPlacements('h200-2g', 'H200-141GB', [
      { profile: '2g.35gb', start: 0 },
      { profile: '2g.35gb', start: 2 },
      { profile: '2g.35gb', start: 4 },
      { profile: '1g.18gb', start: 6 },
    ]);
    expect(l.resourceCounts({ gpusPerNode: 8 })).toEqual({ 'nvidia.com/mig-1g.18gb': 8, 'nvidia.com/mig-2g.35gb': 24 });
  });

  test('fails for 4g.71gb@0 + 3g.71gb@0 (overlap)', () => {
    expect(() =>
      MigLayout.fromPlacements('h200-overlap', 'H200-141GB', [
        { profile: '4g.71gb', start: 0 },
        { profile: '3g.71gb', start: 0 },
      ]),
    ).toThrow(
      'MIG layout "h200-overlap" is illegal on H200-141GB (placements): slices[0] 4g.71gb@0 overlaps slices[1] 3g.71gb@0 on memory ' +
        'slices 0-3 of H200-141GB',
    );
  });

  test('fails for 3g.71gb@2 (no such placement)', () => {
    expect(() => MigLayout.fromPlacements('h200-bad-start', 'H200-141GB', [{ profile: '3g.71gb', start: 2 }])).toThrow(
      'MIG layout "h200-bad-start" is illegal on H200-141GB (placements): slices[0] 3g.71gb@2: 3g.71gb cannot start at 2 on ' +
        'H200-141GB; legal starts: 0, 4',
    );
  });

  test('fails for no placements', () => {
    expect(() => MigLayout.fromPlacements('none', 'H200-141GB', [])).toThrow('expected at least one MIG instance, got none');
  });
});

describe('MigLayout.perDevice and fromPlan', () => {
  test('keeps one layout per GPU index; disabled GPUs count as nvidia.com/gpu', () => {
    const l = MigLayout.perDevice('mixed-node', 'A100-80GB', [{ '1g.10gb': 7 }, [{ profile: '7g.80gb', start: 0 }], 'disabled']);
    expect(l.allDevices).toBe(false);
    expect(l.profileCounts()).toEqual([{ '1g.10gb': 7 }, { '7g.80gb': 1 }, undefined]);
    expect(l.resourceCounts()).toEqual({ 'nvidia.com/gpu': 1, 'nvidia.com/mig-1g.10gb': 7, 'nvidia.com/mig-7g.80gb': 1 });
  });

  test('fails for an illegal device, naming its index', () => {
    expect(() => MigLayout.perDevice('mixed-node', 'A100-80GB', [{ '1g.10gb': 7 }, { '4g.40gb': 2 }])).toThrow(
      'MIG layout "mixed-node" is illegal on A100-80GB (devices[1]): 4g.40gb: 2 instances, at most 1 allowed',
    );
  });

  test('fails for no devices or a wrong device entry', () => {
    expect(() => MigLayout.perDevice('x', 'A100-80GB', [])).toThrow('MIG layout "x" devices: expected at least one device layout, got []');
    expect(() => MigLayout.perDevice('x', 'A100-80GB', [42 as any])).toThrow(
      'MIG layout "x" devices[0]: expected profile counts, placements or "disabled", got 42',
    );
  });

  test('fails when gpusPerNode does not match the listed devices', () => {
    const l = MigLayout.perDevice('two', 'A100-80GB', [{ '1g.10gb': 7 }, 'disabled']);
    expect(() => l.resourceCounts({ gpusPerNode: 8 })).toThrow('gpusPerNode: MIG layout "two" lists 2 devices, got 8 GPUs per node');
  });

  test('fails for the single strategy on mixed slices', () => {
    const l = MigLayout.fromProfiles('mixed', 'H100-80GB', { '3g.40gb': 1, '1g.10gb': 4 });
    expect(() => l.resourceCounts({ strategy: 'single' })).toThrow(
      'strategy: "single" needs one profile on every GPU of the node, MIG layout "mixed" has 1g.10gb, 3g.40gb; use "mixed"',
    );
  });

  test('reads a planner node configuration', () => {
    const uniform = MigLayout.fromPlan({
      name: 'plan-a',
      gpuType: 'A100-80GB',
      instanceType: 'p4de.24xlarge',
      nodes: 1,
      devices: [
        [
          { profile: '3g.40gb', start: 4 },
          { profile: '4g.40gb', start: 0 },
        ],
      ],
    });
    expect(uniform.allDevices).toBe(true);
    expect(uniform.resourceCounts({ gpusPerNode: 8 })).toEqual({ 'nvidia.com/mig-3g.40gb': 8, 'nvidia.com/mig-4g.40gb': 8 });
    const mixed = MigLayout.fromPlan({
      name: 'plan-b',
      gpuType: 'A100-80GB',
      instanceType: 'p4de.24xlarge',
      nodes: 1,
      devices: [[{ profile: '7g.80gb', start: 0 }], [{ profile: 'whole', start: 0 }]],
    });
    expect(mixed.allDevices).toBe(false);
    expect(mixed.resourceCounts()).toEqual({ 'nvidia.com/gpu': 1, 'nvidia.com/mig-7g.80gb': 1 });
  });

  test('devices returns copies', () => {
    const l = MigLayout.fromProfiles('copy', 'H100-80GB', { '7g.80gb': 1 });
    (l.devices[0].slices as any[]).push({ profile: '1g.10gb', start: 0 });
    expect(l.devices[0].slices).toEqual([{ profile: '7g.80gb', start: 0 }]);
  });
});
