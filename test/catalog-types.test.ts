import {
  defaultInstanceType,
  defaultPricePerGpuHour,
  findGpuType,
  findMigProfile,
  getGpuType,
  getInstanceType,
  getMigProfile,
  GPU_TYPES,
  INSTANCE_TYPES,
  instanceTypesFor,
  isLegalLayout,
  placeProfiles,
  profileForSliceSize,
  sliceSizesOf,
  wholeGpuSliceSize,
} from '../constructs/catalog';

describe('GPU types: ids and memory', () => {
  test('has the catalog ids', () => {
    expect(GPU_TYPES.map((g) => g.id)).toEqual([
      'A30',
      'A100-40GB',
      'A100-80GB',
      'H100-80GB',
      'H100-94GB',
      'H100-96GB',
      'H200-141GB',
      'L4',
      'L40S',
      'A10G',
      'T4',
      'B200-180GB',
    ]);
  });

  test('memory is what the driver reports, not the profile name', () => {
    expect(getMigProfile('A100-80GB', '1g.10gb').memoryGiB).toBe(9.5);
    expect(getMigProfile('H100-80GB', '1g.10gb').memoryGiB).toBe(9.75);
    expect(getMigProfile('H200-141GB', '1g.18gb').memoryGiB).toBe(16.0);
    expect(getMigProfile('H200-141GB', '3g.71gb').memoryGiB).toBe(69.75);
    expect(getMigProfile('H200-141GB', '7g.141gb').memoryGiB).toBe(140);
  });

  test('non-MIG GPUs take their memory from the EC2 instance data', () => {
    expect(getGpuType('L4')).toMatchObject({ memoryGiB: 22.35, productLabels: ['NVIDIA-L4'] });
    expect(getGpuType('L40S')).toMatchObject({ memoryGiB: 44.7, productLabels: ['NVIDIA-L40S'] });
    expect(getGpuType('A10G')).toMatchObject({ memoryGiB: 22.35, productLabels: ['NVIDIA-A10G'] });
    expect(getGpuType('T4')).toMatchObject({ memoryGiB: 16, productLabels: ['Tesla-T4'] });
    for (const id of ['L4', 'L40S', 'A10G', 'T4']) expect(getGpuType(id).mig).toBeUndefined();
  });

  test('B200 is used whole and says why; GH200-144GB is not in the catalog', () => {
    const b200 = getGpuType('B200-180GB');
    expect(b200.mig).toBeUndefined();
    expect(b200.migUnavailableReason).toMatch(/no driver-reported memory/);
    expect(findGpuType('GH200-144GB')).toBeUndefined();
  });

  test('profiles without driver-reported memory are left out and listed', () => {
    expect(findMigProfile('A100-80GB', '1g.20gb')).toBeUndefined();
    expect(getGpuType('A100-80GB').mig!.omittedProfiles).toEqual([
      { name: '1g.20gb', reason: 'no driver-reported memory (lgip GiB) in the reference data' },
    ]);
    expect(findMigProfile('A30', '2g.12gb+me')).toBeUndefined();
  });

  test('+me profiles are marked', () => {
    const media = GPU_TYPES.flatMap((g) => g.mig?.profiles ?? [])
      .filter((p) => p.mediaExtensions)
      .map((p) => p.name);
    expect(media.length).toBeGreaterThan(0);
    expect(media.every((n) => n.endsWith('+me'))).toBe(true);
    expect(getMigProfile('A100-80GB', '1g.10gb').mediaExtensions).toBe(false);
  });
});

describe('GPU types: placements, slice sizes, unknown ids', () => {
  test('every entry carries sources and every profile at least one placement', () => {
    for (const g of GPU_TYPES) {
      expect(g.sources.length).toBeGreaterThan(0);
      for (const p of g.mig?.profiles ?? []) {
        expect(p.placements.length).toBeGreaterThan(0);
        expect(p.memoryGiB).toBeGreaterThan(0);
        for (const pl of p.placements) expect(pl.size).toBe(p.memorySlices);
      }
    }
  });

  test('the mig-parted all-balanced layouts are placeable', () => {
    for (const g of GPU_TYPES.filter((x) => x.mig?.allBalanced)) {
      const names = Object.entries(g.mig!.allBalanced!).flatMap(([n, c]) => Array(c).fill(n));
      const layout = placeProfiles(g, names);
      expect(layout).toBeDefined();
      expect(isLegalLayout(g, layout!)).toBe(true);
    }
  });

  test('profileForSliceSize picks the canonical profile', () => {
    expect([1, 2, 3, 4, 7].map((n) => profileForSliceSize('A100-80GB', n)?.name)).toEqual([
      '1g.10gb',
      '2g.20gb',
      '3g.40gb',
      '4g.40gb',
      '7g.80gb',
    ]);
    expect(profileForSliceSize('H100-80GB', 1)?.name).toBe('1g.10gb');
    expect(profileForSliceSize('H200-141GB', 3)?.name).toBe('3g.71gb');
    expect(profileForSliceSize('A30', 3)).toBeUndefined();
    expect(profileForSliceSize('L4', 1)).toBeUndefined();
  });

  test('slice sizes per GPU', () => {
    expect(sliceSizesOf('A30')).toEqual([1, 2, 4]);
    expect(sliceSizesOf('H200-141GB')).toEqual([1, 2, 3, 4, 7]);
    expect(sliceSizesOf('L4')).toEqual([7]);
    expect(wholeGpuSliceSize('A30')).toBe(4);
    expect(wholeGpuSliceSize('T4')).toBe(7);
  });

  test('fails on unknown ids with the known names', () => {
    expect(() => getGpuType('A100')).toThrow('unknown GPU type "A100"; known: A100-40GB, A100-80GB, A10G, A30, B200-180GB, H100-80GB');
    expect(() => getMigProfile('H100-80GB', '1g.18gb')).toThrow(
      'unknown MIG profile "1g.18gb" for GPU type H100-80GB; valid: 1g.10gb, 1g.10gb+me, 1g.20gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb',
    );
    expect(() => getMigProfile('L4', '1g.10gb')).toThrow('unknown MIG profile "1g.10gb" for GPU type L4: L4 has no MIG profiles');
  });
});

describe('instance types', () => {
  test('every instance maps to a catalog GPU', () => {
    expect(INSTANCE_TYPES).toHaveLength(38);
    for (const i of INSTANCE_TYPES) expect(findGpuType(i.gpuType)).toBeDefined();
  });

  test('families map to the right GPUs', () => {
    expect(getInstanceType('p4d.24xlarge').gpuType).toBe('A100-40GB');
    expect(getInstanceType('p4de.24xlarge').gpuType).toBe('A100-80GB');
    expect(getInstanceType('p5.48xlarge')).toMatchObject({ gpuType: 'H100-80GB', gpuCount: 8, onDemandUsdPerHour: 55.04 });
    expect(getInstanceType('p5en.48xlarge').gpuType).toBe('H200-141GB');
    expect(getInstanceType('g6e.xlarge').gpuType).toBe('L40S');
    expect(getInstanceType('g4dn.metal').gpuType).toBe('T4');
    expect(getInstanceType('p6-b200.48xlarge').gpuType).toBe('B200-180GB');
  });

  test('a missing price stays undefined (p5e)', () => {
    const p5e = getInstanceType('p5e.48xlarge');
    expect(p5e.gpuType).toBe('H200-141GB');
    expect(p5e.onDemandUsdPerHour).toBeUndefined();
  });

  test('instanceTypesFor is sorted by GPU count, vCPUs, name', () => {
    expect(instanceTypesFor('H100-80GB').map((i) => i.name)).toEqual(['p5.4xlarge', 'p5.48xlarge']);
    expect(instanceTypesFor('H200-141GB').map((i) => i.name)).toEqual(['p5e.48xlarge', 'p5en.48xlarge']);
    expect(instanceTypesFor('A30')).toEqual([]);
    expect(instanceTypesFor('L4')[0].name).toBe('g6.xlarge');
  });

  test('default instance: most GPUs, priced; price per GPU-hour', () => {
    expect(defaultInstanceType('H100-80GB')?.name).toBe('p5.48xlarge');
    expect(defaultPricePerGpuHour('H100-80GB')).toBeCloseTo(6.88);
    expect(defaultInstanceType('H200-141GB')?.name).toBe('p5en.48xlarge');
    expect(defaultPricePerGpuHour('H200-141GB')).toBeCloseTo(7.912);
    expect(defaultInstanceType('T4')?.name).toBe('g4dn.metal');
    expect(defaultInstanceType('A30')).toBeUndefined();
    expect(defaultPricePerGpuHour('H100-94GB')).toBeUndefined();
  });

  test('fails on an unknown instance type', () => {
    expect(() => getInstanceType('p9.huge')).toThrow(/^unknown instance type "p9.huge"; known: g4dn.12xlarge/);
  });
});
