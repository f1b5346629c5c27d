import { baselines, lowerBound, plan, PlanError, verifyPlan } from '../constructs/planner';
import { fleetOf, mixedFleet, model, synthProfiles } from './planner-fixtures';

describe('plan', () => {
  test('plans a mixed fleet into a valid plan no smaller than the lower bound', () => {
    const fleet = mixedFleet();
    const p = plan(fleet);
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(p.fleet).toBe('test-fleet');
    expect(p.summary.gpuCount).toBe(p.gpus.length);
    expect(p.summary.gpuCount).toBeGreaterThanOrEqual(p.summary.lowerBound);
    expect(p.summary.lowerBound).toBeCloseTo(lowerBound(fleet), 3);
    expect(p.summary.baselines).toEqual(baselines(fleet));
    expect(p.summary.gpuCount).toBeLessThanOrEqual(p.summary.baselines.dedicated);
  });

  test('fails when a model meets its latency budget on no gpu type', () => {
    const fleet = fleetOf([model('slow', 10, 1, 1, synthProfiles('A100-80GB', 10))]);
    expect(() => plan(fleet)).toThrow(/models\.slow: no profile entry meets latency <= 0.5 x 1 ms/);
  });
});

describe('plan: fleets it cannot serve', () => {
  test('fails with a PlanError listing every model that cannot be served, each with its path and why', () => {
    const g = 'A100-80GB';
    const fleet = fleetOf([
      model('ok', 100, 200, 1, synthProfiles(g, 100)),
      model('slow', 10, 1, 1, synthProfiles(g, 10)),
      model('huge', 10, 500, 200, synthProfiles(g, 100)),
      model('blank', 10, 100, 1, []),
    ]);
    let err: unknown;
    try {
      plan(fleet);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlanError);
    expect(err).toBeInstanceOf(Error);
    const problems = (err as PlanError).problems;
    expect(problems).toEqual([
      'models.blank: no profile entry meets latency <= 0.5 x 100 ms and memory 1 GiB + 0.6 GiB overhead on A100-80GB (no profiles ' +
        'and no throughputPerGpu figure for A100-80GB)',
      'models.huge: no profile entry meets latency <= 0.5 x 500 ms and memory 200 GiB + 0.6 GiB overhead on A100-80GB',
      'models.slow: no profile entry meets latency <= 0.5 x 1 ms and memory 1 GiB + 0.6 GiB overhead on A100-80GB',
    ]);
    expect((err as PlanError).message).toBe(problems.join('\n'));
    expect((err as PlanError).name).toBe('PlanError');
  });

  test('fails with a PlanError for gpu entries and names it cannot use, all at once', () => {
    const m = model('a', 10, 100, 1, synthProfiles('A100-80GB', 10));
    const bad = fleetOf(
      [m],
      [
        { type: 'A100-80GB', mig: true, instanceType: 'p5.48xlarge' },
        { type: 'X1', mig: false },
      ],
    );
    expect(() => plan(bad)).toThrow(PlanError);
    try {
      plan(bad);
    } catch (e) {
      expect((e as PlanError).problems).toEqual([
        expect.stringMatching(/^gpus\[0\]\.instanceType: "p5\.48xlarge" does not carry A100-80GB gpus, expected one of p4de\.24xlarge$/),
        expect.stringMatching(/^gpus\[1\]\.type: unknown gpu type "X1", expected one of /),
      ]);
    }
    expect(() => plan(fleetOf([m], []))).toThrow(new PlanError(['gpus: expected at least one gpu type, got none']));
    const dup = fleetOf([m, { ...m }, { ...m, name: 'b' }, { ...m, name: 'b' }]);
    try {
      plan(dup);
      throw new Error('expected a PlanError');
    } catch (e) {
      expect(e).toBeInstanceOf(PlanError);
      expect((e as PlanError).problems).toEqual([
        'models: name "a" is used more than once, expected unique names',
        'models: name "b" is used more than once, expected unique names',
      ]);
    }
  });

  test('fails lowerBound and baselines with a PlanError naming every unservable model', () => {
    const g = 'A100-80GB';
    const fleet = fleetOf([
      model('slow', 10, 1, 1, synthProfiles(g, 10)),
      model('blank', 10, 100, 1, []),
      model('ok', 10, 100, 1, synthProfiles(g, 10)),
    ]);
    try {
      lowerBound(fleet);
      throw new Error('expected a PlanError');
    } catch (e) {
      expect(e).toBeInstanceOf(PlanError);
      expect((e as PlanError).problems.map((p) => p.split(':')[0])).toEqual(['models.slow', 'models.blank']);
    }
    try {
      baselines(fleet);
      throw new Error('expected a PlanError');
    } catch (e) {
      expect(e).toBeInstanceOf(PlanError);
      expect((e as PlanError).problems.map((p) => p.split(':')[0])).toEqual(['models.slow', 'models.blank']);
    }
  });
});
