/**
 * The fleet layer's bounds as a library (issue 14): `loadFleetFile` reads through the bounded reader, "did you
 * mean" does bounded work on any key, a fleet's problems are listed up to a limit and counted beyond it, and
 * duplicate keys and alias bombs are problems like any other. The CLI side of the same cases is in
 * test/cli-fleet-limits.test.ts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { closest, editDistance, FLEET_LIMITS, FleetValidationError, loadFleetFile, parseFleet, validateFleet } from '../constructs/fleet';

const problemsOf = (f: () => unknown): string[] => {
  try {
    f();
  } catch (e) {
    if (e instanceof FleetValidationError) return e.problems;
    throw e;
  }
  throw new Error('expected a FleetValidationError');
};

describe('loadFleetFile reads through the bounded reader', () => {
  test('fails on /dev/zero from its type, before reading (it once read until the heap was gone)', () => {
    expect(problemsOf(() => loadFleetFile('/dev/zero'))).toEqual([
      'fleet file "/dev/zero": is a character device, not a regular file; gpufleet reads only regular files',
    ]);
  });

  test('fails on a folder and on a file over 16 MiB, naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-limits-'));
    expect(problemsOf(() => loadFleetFile(dir))).toEqual([`fleet file ${JSON.stringify(dir)}: is a directory, expected a file`]);
    const big = path.join(dir, 'big.yaml');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 16 * 1024 * 1024 + 1);
    expect(problemsOf(() => loadFleetFile(big))).toEqual([
      `fleet file ${JSON.stringify(big)}: is 16 MiB, more than the 16 MiB gpufleet reads from an input file`,
    ]);
  });
});

describe('"did you mean" does bounded work', () => {
  test('a key far longer than any allowed one is compared with none (it once built a 50M x 20 table)', () => {
    expect(closest('x'.repeat(10_000_000), ['name', 'gpus', 'models'])).toBeUndefined();
    expect(closest('modles', ['name', 'gpus', 'models'])).toBe('models');
  });

  test('editDistance keeps the swap of neighbours (a transposition costs 1)', () => {
    expect(editDistance('modles', 'models')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

describe('problems are listed up to a limit and counted beyond it', () => {
  test('a fleet with 5,000 bad models lists 50 problems and one line counting the rest', () => {
    const doc = {
      name: 'many',
      gpus: [{ type: 'L4' }],
      models: Array.from({ length: 5000 }, (_, i) => ({
        name: `m${i}`,
        team: 't',
        rps: -1,
        latencySloMs: 10,
        memoryGiB: 1,
        throughputPerGpu: 100,
      })),
    };
    const { fleet, problems } = validateFleet(doc);
    expect(fleet).toBeUndefined();
    expect(problems).toHaveLength(FLEET_LIMITS.maxProblems + 1);
    expect(problems[0]).toBe('models[0].rps: expected a number > 0, got -1');
    expect(problems[50]).toBe('... and 4950 more problems');
  });
});

describe('YAML documents', () => {
  test('fails on keys that become the same key of the fleet (1 and "1"), which the yaml package would merge silently', () => {
    expect(problemsOf(() => parseFleet('name: a\ngpus: []\nmodels: []\nx:\n  1: a\n  "1": b\n', 'f.yaml'))).toEqual([
      'f.yaml:6:3: x["1"]: duplicate key (first at line 5, column 3); keys must be unique',
    ]);
  });

  test('fails on an alias bomb with one problem instead of an internal error', () => {
    const levels = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
    ];
    expect(problemsOf(() => parseFleet(levels.join('\n'), 'bomb.yaml'))).toEqual([
      'bomb.yaml: YAML aliases: the document expands its aliases more than 100 times (each use of an anchor counts the aliases ' +
        'inside it); write the values out instead',
    ]);
  });
});
