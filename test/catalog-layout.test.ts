import { checkLayout, isLegalLayout, placeProfiles, SlicePlacement } from '../constructs/catalog';

const at = (spec: string): SlicePlacement[] =>
  spec.split(/\s+\+\s+/).map((s) => {
    const [profile, start] = s.split('@');
    return { profile, start: Number(start) };
  });

describe('checkLayout on H200-141GB', () => {
  test('accepts 4g.71gb@0 + 3g.71gb@4', () => {
    expect(checkLayout('H200-141GB', at('4g.71gb@0 + 3g.71gb@4'))).toEqual([]);
  });

  test('accepts 2g.35gb@0 + 2g.35gb@2 + 2g.35gb@4 + 1g.18gb@6', () => {
    expect(checkLayout('H200-141GB', at('2g.35gb@0 + 2g.35gb@2 + 2g.35gb@4 + 1g.18gb@6'))).toEqual([]);
  });

  test('accepts the whole GPU and seven 1g.18gb', () => {
    expect(isLegalLayout('H200-141GB', at('7g.141gb@0'))).toBe(true);
    expect(isLegalLayout('H200-141GB', at('1g.18gb@0 + 1g.18gb@1 + 1g.18gb@2 + 1g.18gb@3 + 1g.18gb@4 + 1g.18gb@5 + 1g.18gb@6'))).toBe(true);
  });

  test('fails on overlap: 4g.71gb@0 + 3g.71gb@0', () => {
    const problems = checkLayout('H200-141GB', at('4g.71gb@0 + 3g.71gb@0'));
    expect(problems).toContain('slices[0] 4g.71gb@0 overlaps slices[1] 3g.71gb@0 on memory slices 0-3 of H200-141GB');
  });

  test('fails on a start that is no placement: 3g.71gb@2', () => {
    expect(checkLayout('H200-141GB', at('3g.71gb@2'))).toEqual([
      'slices[0] 3g.71gb@2: 3g.71gb cannot start at 2 on H200-141GB; legal starts: 0, 4',
    ]);
  });

  test('fails on two +me profiles', () => {
    const problems = checkLayout('H200-141GB', at('1g.18gb+me@0 + 1g.18gb+me@1'));
    expect(problems).toContain('1g.18gb+me: 2 instances, at most 1 allowed on H200-141GB');
    expect(problems.some((p) => p.startsWith('at most one media-extension (+me) profile per GPU, got 2'))).toBe(true);
  });
});

describe('checkLayout on A100-80GB', () => {
  test('accepts the mig-parted all-balanced layout', () => {
    expect(checkLayout('A100-80GB', at('3g.40gb@4 + 2g.20gb@0 + 1g.10gb@2 + 1g.10gb@3'))).toEqual([]);
  });

  test('accepts 4g.40gb@0 + 3g.40gb@4', () => {
    expect(isLegalLayout('A100-80GB', at('4g.40gb@0 + 3g.40gb@4'))).toBe(true);
  });

  test('fails on 4g + 4g', () => {
    const atFour = checkLayout('A100-80GB', at('4g.40gb@0 + 4g.40gb@4'));
    expect(atFour).toContain('slices[1] 4g.40gb@4: 4g.40gb cannot start at 4 on A100-80GB; legal starts: 0');
    const both = checkLayout('A100-80GB', at('4g.40gb@0 + 4g.40gb@0'));
    expect(both).toContain('slices[0] 4g.40gb@0 overlaps slices[1] 4g.40gb@0 on memory slices 0-3 of A100-80GB');
    expect(both).toContain('4g.40gb: 2 instances, at most 1 allowed on A100-80GB');
    expect(both).toContain('compute slices add up to 8, more than the 7 of A100-80GB');
  });

  test('fails on an unknown profile, naming the valid ones', () => {
    const [problem] = checkLayout('A100-80GB', at('3g.71gb@0'));
    expect(problem).toMatch(/^slices\[0\]: unknown MIG profile "3g.71gb" for GPU type A100-80GB; valid: 1g.10gb, 1g.10gb\+me, 2g.20gb/);
  });

  test('fails on a profile without driver-reported memory (1g.20gb)', () => {
    const [problem] = checkLayout('A100-80GB', at('1g.20gb@0'));
    expect(problem).toContain('MIG profile "1g.20gb" of GPU type A100-80GB is not usable: no driver-reported memory');
  });

  test('fails on too many instances', () => {
    expect(checkLayout('A100-80GB', at('3g.40gb@0 + 3g.40gb@4 + 3g.40gb@4'))).toContain(
      '3g.40gb: 3 instances, at most 2 allowed on A100-80GB',
    );
  });
});

describe('checkLayout on H100-80GB', () => {
  test('accepts 1g.20gb pairs and 3g.40gb', () => {
    expect(checkLayout('H100-80GB', at('1g.20gb@0 + 1g.20gb@2 + 3g.40gb@4'))).toEqual([]);
  });

  test('fails on 2g.20gb@6 (no such placement) and an overlap', () => {
    const problems = checkLayout('H100-80GB', at('2g.20gb@6 + 3g.40gb@0 + 1g.10gb@3'));
    expect(problems).toContain('slices[0] 2g.20gb@6: 2g.20gb cannot start at 6 on H100-80GB; legal starts: 0, 2, 4');
    expect(problems).toContain('slices[1] 3g.40gb@0 overlaps slices[2] 1g.10gb@3 on memory slices 3 of H100-80GB');
  });

  test('fails on a GPU without MIG', () => {
    expect(checkLayout('L4', at('1g.10gb@0'))[0]).toMatch(/^GPU type L4 has no MIG profiles/);
  });

  test('throws for an unknown GPU type', () => {
    expect(() => checkLayout('H300', [])).toThrow(/^unknown GPU type "H300"; known: A100-40GB, A100-80GB, A10G, A30, B200-180GB/);
  });
});

describe('placeProfiles', () => {
  test('places 4g + 3g on H200-141GB', () => {
    expect(placeProfiles('H200-141GB', ['3g.71gb', '4g.71gb'])).toEqual([
      { profile: '4g.71gb', start: 0 },
      { profile: '3g.71gb', start: 4 },
    ]);
  });

  test('places three 2g and one 1g, larger first, and the result is legal', () => {
    const layout = placeProfiles('H200-141GB', ['1g.18gb', '2g.35gb', '2g.35gb', '2g.35gb']);
    expect(layout).toEqual([
      { profile: '2g.35gb', start: 0 },
      { profile: '2g.35gb', start: 2 },
      { profile: '2g.35gb', start: 4 },
      { profile: '1g.18gb', start: 6 },
    ]);
    expect(isLegalLayout('H200-141GB', layout!)).toBe(true);
  });

  test('backtracks: 3g + 2g + 1g + 1g on A100-80GB', () => {
    const layout = placeProfiles('A100-80GB', ['1g.10gb', '2g.20gb', '1g.10gb', '3g.40gb']);
    expect(layout).toBeDefined();
    expect(checkLayout('A100-80GB', layout!)).toEqual([]);
  });

  test('is deterministic whatever the input order', () => {
    const a = placeProfiles('H100-80GB', ['1g.10gb', '3g.40gb', '1g.10gb', '1g.20gb']);
    const b = placeProfiles('H100-80GB', ['1g.20gb', '1g.10gb', '3g.40gb', '1g.10gb']);
    expect(a).toEqual([
      { profile: '3g.40gb', start: 0 },
      { profile: '1g.10gb', start: 4 },
      { profile: '1g.10gb', start: 5 },
      { profile: '1g.20gb', start: 6 },
    ]);
    expect(a).toEqual(b);
    expect(isLegalLayout('H100-80GB', a!)).toBe(true);
  });

  test('fails to place 4g + 4g on A100-80GB', () => {
    expect(placeProfiles('A100-80GB', ['4g.40gb', '4g.40gb'])).toBeUndefined();
  });

  test('fails to place three 3g, or 4g + 3g + 1g', () => {
    expect(placeProfiles('H100-80GB', ['3g.40gb', '3g.40gb', '3g.40gb'])).toBeUndefined();
    expect(placeProfiles('H100-80GB', ['4g.40gb', '3g.40gb', '1g.10gb'])).toBeUndefined();
  });

  test('fails when 2g placements run out: four 2g.20gb', () => {
    expect(placeProfiles('A100-80GB', ['2g.20gb', '2g.20gb', '2g.20gb', '2g.20gb'])).toBeUndefined();
  });

  test('returns [] for nothing, undefined on a GPU without MIG', () => {
    expect(placeProfiles('A100-80GB', [])).toEqual([]);
    expect(placeProfiles('L4', ['1g.10gb'])).toBeUndefined();
  });

  test('throws for a profile the GPU does not have', () => {
    expect(() => placeProfiles('A30', ['3g.40gb'])).toThrow(
      'unknown MIG profile "3g.40gb" for GPU type A30; valid: 1g.6gb, 1g.6gb+me, 2g.12gb, 4g.24gb',
    );
  });
});
