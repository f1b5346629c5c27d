/**
 * Fleet input the CLI must refuse cleanly, fast and with bounded work (issue 14, item 1 on the fleet side): numbers
 * beyond their documented bounds (constructs/fleet/limits.ts), demand beyond 10,000 GPUs, unknown keys of any
 * length or number, and YAML alias bombs. Every case exits 2 with one bounded line per problem naming the path and
 * the value, no stack trace, nothing on stdout and nothing written (the `--out` file stays absent).
 *
 * The CLI runs in-process (`main(argv)`), like test/cli-hardening.test.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { FLEET_LIMITS } from '../constructs/fleet';
import { cli, expectInputError, snapshot } from './cli-fixtures/in-process';
import { SMALL_FLEET, tempDir } from './cli-fixtures/run-cli';

type Doc = Record<string, any>;

const FLEET_TEXT = fs.readFileSync(SMALL_FLEET, 'utf8');
const base = (): Doc => parse(FLEET_TEXT) as Doc;

/** Plans `text` as a fleet file with `--out`; checks exit 2, the lines, and that nothing was written. */
async function refuse(text: string, name = 'fleet.yaml'): Promise<string[]> {
  const dir = tempDir();
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  const before = snapshot(dir);
  const r = await cli('plan', file, '--out', path.join(dir, 'plan.json'));
  const lines = expectInputError(r);
  expect(snapshot(dir)).toEqual(before);
  return lines;
}

/** The fleet with `change` applied, as JSON (which the CLI reads through JSON.parse). */
const mutated = (change: (d: Doc) => void): string => {
  const d = base();
  change(d);
  return JSON.stringify(d);
};

/** One value above its documented bound per fleet number: the case, the change to the fleet, the one line the CLI prints. */
function aboveBoundCases() {
  const L = FLEET_LIMITS;
  const cases: [string, (d: Doc) => void, string][] = [
    [
      'models[0].rps',
      (d) => {
        d.models[0].rps = 1e12;
      },
      `models[0].rps: expected a number > 0 and <= ${L.maxRps}, got 1000000000000`,
    ],
    [
      'coldBelowRps',
      (d) => {
        d.coldBelowRps = 5e9;
      },
      'coldBelowRps: expected a number > 0 and <= 1000000000, got 5000000000',
    ],
    [
      'models[0].latencySloMs',
      (d) => {
        d.models[0].latencySloMs = 1e300;
      },
      'models[0].latencySloMs: expected a number > 0 and <= 3600000, got 1e+300',
    ],
    [
      'models[0].memoryGiB',
      (d) => {
        d.models[0].memoryGiB = 4096;
      },
      'models[0].memoryGiB: expected a number > 0 and <= 1024, got 4096',
    ],
    [
      'processOverheadGiB',
      (d) => {
        d.processOverheadGiB = 1e6;
      },
      'processOverheadGiB: expected a number >= 0 and <= 1024, got 1000000',
    ],
    [
      'gpus[0].pricePerGpuHour',
      (d) => {
        d.gpus[0].pricePerGpuHour = 1e20;
      },
      'gpus[0].pricePerGpuHour: expected a number > 0 and <= 10000, got 100000000000000000000',
    ],
    [
      'profiles[].batch',
      (d) => {
        d.models[0].profiles[0].batch = 2 ** 40;
      },
      `models[0].profiles[0].batch: expected an integer > 0 and <= ${L.maxBatch}, got ${2 ** 40}`,
    ],
    [
      'profiles[].instances',
      (d) => {
        d.models[0].profiles[1].instances = 5000;
      },
      'models[0].profiles[1].instances: expected an integer > 0 and <= 1000, got 5000',
    ],
    [
      'profiles[].throughput',
      (d) => {
        d.models[1].profiles[0].throughput = 1e15;
      },
      'models[1].profiles[0].throughput: expected a number > 0 and <= 1000000000, got 1000000000000000',
    ],
    [
      'profiles[].latencyMs',
      (d) => {
        d.models[1].profiles[2].latencyMs = 1e10;
      },
      'models[1].profiles[2].latencyMs: expected a number > 0 and <= 3600000, got 10000000000',
    ],
    [
      'throughputPerGpu',
      (d) => {
        d.models[2].throughputPerGpu = 1e30;
      },
      'models[2].throughputPerGpu: expected a number > 0 and <= 1000000000, got 1e+30',
    ],
    [
      'triton.maxBatchSize',
      (d) => {
        d.models[0].triton = { maxBatchSize: 2 ** 31 };
      },
      'models[0].triton.maxBatchSize: expected an integer >= 0 and <= 2147483647, got 2147483648',
    ],
    [
      'triton.platform',
      (d) => {
        d.models[0].triton = { platform: 'p'.repeat(65) };
      },
      `models[0].triton.platform: expected a non-empty string of at most 64 characters, got "${'p'.repeat(65)}" (65 characters)`,
    ],
  ];
  return cases;
}

describe('every fleet number has a documented upper bound', () => {
  const cases = aboveBoundCases();
  test.each(cases)('fails on %s above its bound, with one line naming the bound and the value', async (_, change, line) => {
    expect(await refuse(mutated(change), 'fleet.json')).toEqual([line]);
  });

  test('fails on .inf in YAML (a number JSON cannot write) like any other value above the bound', async () => {
    const lines = await refuse(FLEET_TEXT.replace('rps: 353', 'rps: .inf'));
    expect(lines).toEqual([`models[0].rps: expected a number > 0 and <= ${FLEET_LIMITS.maxRps}, got Infinity`]);
  });

  test('fails on more than 10,000 models and more than 1,000 profile rows of one model, naming the counts', async () => {
    const models = Array.from({ length: FLEET_LIMITS.maxModels + 1 }, (_, i) => ({
      name: `m${i}`,
      team: 't',
      rps: 1,
      latencySloMs: 100,
      memoryGiB: 1,
      throughputPerGpu: { 'A100-80GB': 1000 },
    }));
    expect(
      await refuse(
        mutated((d) => {
          d.models = models;
        }),
        'many.json',
      ),
    ).toEqual(['models: expected at most 10000 models, got 10001']);
    const rows = Array.from({ length: FLEET_LIMITS.maxProfilesPerModel + 1 }, (_, j) => ({
      gpu: 'A100-80GB',
      slice: 1,
      batch: j + 1,
      instances: 1,
      throughput: 100 + j,
      latencyMs: 10,
    }));
    expect(
      await refuse(
        mutated((d) => {
          d.models[0].profiles = rows;
        }),
        'rows.json',
      ),
    ).toEqual(['models[0].profiles: expected at most 1000 entries, got 1001']);
  });
});

describe('demand is refused with the GPUs it needs, before planning', () => {
  test('fails rps 1e8 (it once planned for minutes) with the figure, exit 2', async () => {
    // resnet50's most efficient admissible entry on A100-80GB: 1250 rps on 3 of 7 compute slices = 2916.67 rps per GPU
    const lines = await refuse(FLEET_TEXT.replace('rps: 353', 'rps: 1e8'));
    expect(lines).toEqual([
      'cannot plan fleet payments-and-vision: models[0].rps: 100000000 rps needs at least 34,286 GPUs (2916.67 rps per A100-80GB GPU ' +
        'at its most efficient admissible entry, every compute slice busy); a plan has at most 10,000 GPUs',
    ]);
  });

  test('fails a fleet whose models each fit but together need more than 10,000 GPUs', async () => {
    // resnet50 at 2e7 rps needs 6,858 GPUs, bert-base at 8e6 rps 5,621 (1400 rps per GPU on its 7-slice entry... at
    // its most efficient one, 610 rps on 3 slices = 1423.33 per GPU): each alone fits, together they do not
    const lines = await refuse(
      mutated((d) => {
        d.models[0].rps = 2e7;
        d.models[1].rps = 8e6;
      }),
      'fleet.json',
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        /^cannot plan fleet payments-and-vision: models: the fleet's demand needs at least 12,4\d\d GPUs \(each model at /.source +
          /its most efficient admissible entry, every compute slice busy\); a plan has at most 10,000 GPUs; the largest: /.source +
          /models\[0\] \(resnet50\) 6,858, models\[1\] \(bert-base\) 5,621, /.source,
      ),
    );
  });
});

describe('unknown keys: quoted, bounded, suggested only when they could be a typo', () => {
  test('still suggests the key a short typo meant', async () => {
    expect(await refuse(FLEET_TEXT.replace('    rps: 353', '    rpss: 353\n    rps: 353'))).toEqual([
      'models[0].rpss: unknown key; did you mean "rps"?',
    ]);
  });

  test('fails on a 1 MB unknown key with one bounded line (it once printed the key and ran the edit distance over all of it)', async () => {
    const key = 'k'.repeat(1_000_000);
    const lines = await refuse(
      mutated((d) => {
        d.models[0][key] = 1;
      }),
      'fleet.json',
    );
    expect(lines).toEqual([
      `models[0]["${'k'.repeat(100)}…" (1000000 characters)]: unknown key; allowed: name, team, rps, latencySloMs, memoryGiB, ` +
        `profiles, throughputPerGpu, triton`,
    ]);
  });

  test('fails on a key with a newline or a terminal escape as one escaped line', async () => {
    const lines = await refuse(
      mutated((d) => {
        d.gpus[0]['a\nb\u001b[31m'] = true;
      }),
      'fleet.json',
    );
    expect(lines).toEqual(['gpus[0]["a\\nb\\u001b[31m"]: unknown key; allowed: type, mig, pricePerGpuHour, instanceType']);
  });

  test('fails on 100,000 unknown keys with 50 lines and one counting the rest', async () => {
    const lines = await refuse(
      mutated((d) => {
        for (let i = 0; i < 100_000; i++) d[`extra${i}`] = i;
      }),
      'fleet.json',
    );
    expect(lines).toHaveLength(51);
    expect(lines[0]).toBe('extra0: unknown key; allowed: name, latencyHeadroom, processOverheadGiB, coldBelowRps, gpus, models');
    expect(lines[50]).toBe('... and 99950 more problems');
  });
});

describe('duplicate keys in YAML: found in linear time, named by path', () => {
  test('fails on a duplicate among 20,000 keys of one mapping with its path and both positions', async () => {
    // the yaml package's own check compares every pair of keys of a mapping (40,000 keys took over a minute)
    const extra = Array.from({ length: 20_000 }, (_, i) => `extra${i}: ${i}`);
    extra.push('extra17: again');
    const lines = await refuse(`${FLEET_TEXT}${extra.join('\n')}\n`);
    const at = FLEET_TEXT.split('\n').length - 1 + 20_001;
    const first = FLEET_TEXT.split('\n').length - 1 + 18;
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(`fleet\\.yaml:${at}:1: extra17: duplicate key \\(first at line ${first}, column 1\\); keys must be unique$`),
      ),
    ]);
  });

  test('fails on a duplicate long key with a bounded path', async () => {
    const key = 'q'.repeat(300_000);
    // explicit keys (`? key`): an implicit YAML key is at most 1024 characters
    const lines = await refuse(`${FLEET_TEXT}? ${key}\n: 1\n? ${key}\n: 2\n`);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /fleet\.yaml:\d+:3: \["q{100}…" \(300000 characters\)\]: duplicate key \(first at line \d+, column 3\); keys must be unique$/,
    );
  });
});

describe('YAML aliases', () => {
  test('fails on an alias bomb (it once exited 1 "internal error") with exit 2 and one line', async () => {
    const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++)
      levels.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const lines = await refuse(`${levels.join('\n')}\n${FLEET_TEXT}`);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/fleet\.yaml: YAML aliases: the document expands its aliases more than 100 times/);
  });

  test('still reads a fleet with a few aliases', async () => {
    const text = FLEET_TEXT.replace('    team: vision\n    rps: 353', '    team: &vision vision\n    rps: 353').replace(
      /team: vision\n {4}rps: 120/,
      'team: *vision\n    rps: 120',
    );
    const r = await cli(
      'plan',
      (() => {
        const f = path.join(tempDir(), 'aliases.yaml');
        fs.writeFileSync(f, text);
        return f;
      })(),
      '--json',
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).fleet).toBe('payments-and-vision');
  });
});
