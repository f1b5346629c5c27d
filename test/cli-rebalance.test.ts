/**
 * `gpufleet rebalance --from RUNNING FLEET` and `gpufleet report --from RUNNING FLEET --out FILE`, run in this
 * process through the CLI's `main` (same dispatch, errors and exit codes as the command): the checked migration
 * as text and JSON, the new plan written with --out, an unchanged fleet, bad input (exit 2, nothing written), and
 * the migration page.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseFleet } from '../constructs/fleet';
import { checkMigration, verifyPlan, type Migration, type Plan } from '../constructs/planner';
import { main } from '../bin/lib/main';
import { htmlProblems, REPO, tempDir } from './cli-fixtures/run-cli';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `gpufleet ...args` in this process, stdout and stderr captured. */
async function cli(args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- saved to be put back as they were
  const saved = { out: process.stdout.write, err: process.stderr.write, cwd: process.cwd() };
  const capture = (sink: string[]) =>
    ((chunk: string | Uint8Array, a?: unknown, b?: unknown): boolean => {
      sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const cb = typeof a === 'function' ? a : b;
      if (typeof cb === 'function') process.nextTick(cb);
      return true;
    }) as typeof process.stdout.write;
  process.chdir(REPO);
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.chdir(saved.cwd);
  }
}

const LONG_TAIL = path.join(REPO, 'examples/long-tail.fleet.yaml');
const dir = tempDir('gpufleet-rebalance-');
const running = path.join(dir, 'running.json');
/** The long-tail fleet with fraud-scorer and query-encoder at 3x their demand. */
const grown = path.join(dir, 'long-tail-3x.fleet.yaml');
const text = fs.readFileSync(LONG_TAIL, 'utf8');
fs.writeFileSync(
  grown,
  text.replace(/(name: fraud-scorer[\s\S]*?rps: )1800/, '$15400').replace(/(name: query-encoder[\s\S]*?rps: )900/, '$12700'),
);

beforeAll(async () => {
  const r = await cli(['plan', LONG_TAIL, '--out', running]);
  expect(r.code).toBe(0);
});

describe('gpufleet rebalance', () => {
  test('prints the checked migration: figures, steps with commands and waits, capacity changes', async () => {
    const r = await cli(['rebalance', '--from', running, grown]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        /^rebalance long-tail \(long-tail-3x\.fleet\.yaml\): stable re-plan of the running plan; migration checked, 3 /.source +
          /step\(s\), path karpenter$/.source,
        'm',
      ),
    );
    expect(r.stdout).toContain('models moved 0, grown 2');
    expect(r.stdout).toContain('GPUs re-cut 0');
    expect(r.stdout).toContain(
      'every model keeps its demand (or what it had, if less) at every step: checked; 2 model(s) run below their new demand until step 3',
    );
    expect(r.stdout).toMatch(/^1\. add 1 node\(s\) with their layouts$/m);
    expect(r.stdout).toMatch(
      new RegExp(
        /\$ kubectl wait node -l nvidia\.com\/mig\.config=\S+ /.source +
          /--for=jsonpath='\{\.metadata\.labels\.nvidia\\\.com\/mig\\\.config\\\.state\}'=success/.source,
      ),
    );
    expect(r.stdout).toMatch(/\$ kubectl -n serving-shared rollout status deployment\/\S+ --timeout=30m/);
    expect(r.stdout).toContain('capacity: fraud-scorer 1800 -> 5400 rps (demand 5400); query-encoder 900 -> 2700 rps (demand 2700)');
  });

  test('--json: the migration document, which the library checker accepts; --out: the new plan', async () => {
    const out = path.join(dir, 'next.json');
    const r = await cli(['rebalance', '--from', running, grown, '--json', '--out', out]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      checked: boolean;
      basis: string;
      migration: Migration;
      plan: Plan;
      runbook: { steps: unknown[] };
    };
    expect(doc.checked).toBe(true);
    expect(doc.basis).toBe('stable');
    const fleet = parseFleet(fs.readFileSync(grown, 'utf8'), grown);
    const next = JSON.parse(fs.readFileSync(out, 'utf8')) as Plan;
    expect(next).toEqual(doc.plan);
    expect(verifyPlan(fleet, next)).toEqual([]);
    const before = JSON.parse(fs.readFileSync(running, 'utf8')) as Plan;
    expect(checkMigration(fleet, before, next, doc.migration)).toEqual([]);
    expect(doc.runbook.steps).toHaveLength(doc.migration.steps.length);
  });

  test('an unchanged fleet: nothing to do, and the new plan is the running plan byte for byte', async () => {
    const out = path.join(dir, 'same.json');
    const r = await cli(['rebalance', '--from', running, LONG_TAIL, '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('unchanged: the running plan fits the fleet as it is; migration checked, 0 step(s)');
    expect(r.stdout).toContain('nothing to do: the running plan already serves the fleet.');
    expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(running, 'utf8'));
  });

  test.each([
    [['rebalance', LONG_TAIL], /^missing --from RUNNING_PLAN: /],
    [['rebalance', '--from', 'nope.json', LONG_TAIL], /^--from "nope\.json": cannot read the file/],
    [['rebalance', '--from', LONG_TAIL, LONG_TAIL], /^--from ".+long-tail\.fleet\.yaml": not JSON/],
    [
      ['rebalance', '--from', '__RUNNING__', LONG_TAIL, '--path', 'sideways'],
      /^--path: expected one of karpenter, node-groups, in-place, got "sideways"$/m,
    ],
    [['rebalance', '--from', '__RUNNING__', LONG_TAIL, '--floor', '0'], /^--floor: expected a number > 0 and <= 1, got "0"$/m],
    [
      ['rebalance', '--from', '__RUNNING__', LONG_TAIL, '--move-price=-1'],
      /^--move-price: expected a number >= 0 \(USD per hour\), got "-1"$/m,
    ],
  ])('fails with exit 2 and one clear line: %j', async (args, message) => {
    const r = await cli(args.map((a) => (a === '__RUNNING__' ? running : a)));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  test('fails with exit 2 for a running plan of another fleet, and writes nothing', async () => {
    const other = path.join(dir, 'other.json');
    fs.writeFileSync(other, fs.readFileSync(running, 'utf8').replace('"fleet": "long-tail"', '"fleet": "payments"'));
    const out = path.join(dir, 'never.json');
    const r = await cli(['rebalance', '--from', other, LONG_TAIL, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`--from "${other}": fleet: the running plan is of fleet "payments", the fleet is "long-tail"`);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('gpufleet report --from', () => {
  test('draws the migration: GPUs before and after, what moves, capacity over the steps, the steps', async () => {
    const out = path.join(dir, 'migration.html');
    const r = await cli(['report', '--from', running, grown, '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`migration report written to ${out}`);
    const html = fs.readFileSync(out, 'utf8');
    expect(htmlProblems(html)).toEqual([]);
    expect(html).not.toMatch(/<script|<link |src="http/);
    for (const h of ['GPUs before and after', 'What moves where', 'Capacity over the steps', 'Steps (karpenter)'])
      expect(html).toContain(`<h2>${h}</h2>`);
    // both grown models get a capacity chart; models whose capacity does not change do not
    expect(html).toContain('aria-label="capacity of fraud-scorer over the steps"');
    expect(html).toContain('aria-label="capacity of query-encoder over the steps"');
    expect(html).not.toContain('aria-label="capacity of reranker over the steps"');
    // the new servers are drawn as new, none as stopping
    expect((html.match(/<g class="slice started">/g) ?? []).length).toBe(2);
    expect(html).not.toContain('<g class="slice stopped">');
  });

  test('fails with exit 2 for --plan together with --from', async () => {
    const r = await cli(['report', '--from', running, grown, '--plan', running, '--out', path.join(dir, 'x.html')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^--plan and --from: give one/);
  });
});
