/**
 * Bad input the CLI must refuse cleanly (issue 14): every case exits 2 with one line per problem naming the
 * path and the value (at most ~100 characters of it), no stack trace, nothing on stdout and nothing written.
 * Classes: input files that are not bounded regular UTF-8 files, values echoed without bound, saved plans with
 * wrong types or nulls, and `--out` paths that are the input itself, a link or a special file.
 *
 * The CLI runs in-process (`main(argv)` of bin/lib/main.ts, stdout and stderr captured): no child process.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { cli, expectInputError, snapshot, type Run } from './cli-fixtures/in-process';
import { SMALL_FLEET, tempDir } from './cli-fixtures/run-cli';
import { once } from './support/once';

const FLEET_TEXT = fs.readFileSync(SMALL_FLEET, 'utf8');
const canMkfifo = process.platform !== 'win32';

describe('input files: only bounded regular UTF-8 files are read', () => {
  test('fails on /dev/zero as the fleet before reading it (it would be read forever)', async () => {
    const r = await cli('plan', '/dev/zero', '--json');
    expect(expectInputError(r, 1)).toEqual([
      'FLEET "/dev/zero": is a character device, not a regular file; gpufleet reads only regular files',
    ]);
  });

  (canMkfifo ? test : test.skip)('fails on a named pipe as the fleet without blocking on it', async () => {
    const dir = tempDir();
    const fifo = path.join(dir, 'fleet.yaml');
    execFileSync('mkfifo', [fifo]);
    const r = await cli('plan', fifo);
    expect(expectInputError(r, 1)).toEqual([
      `FLEET ${JSON.stringify(fifo)}: is a named pipe (FIFO), not a regular file; gpufleet reads only regular files`,
    ]);
  });

  test('fails on a fleet file over 16 MiB, even a valid one, before reading it', async () => {
    const dir = tempDir();
    const big = path.join(dir, 'big.fleet.yaml');
    fs.writeFileSync(big, `${FLEET_TEXT}\n${`# ${'x'.repeat(1022)}\n`.repeat(17 * 1024)}`);
    const before = snapshot(dir);
    const r = await cli('plan', big, '--out', path.join(dir, 'plan.json'));
    // the message names the flag that reads it (docs/cli.md, "Input files"; test/cli-input-size.test.ts)
    expect(expectInputError(r, 1)).toEqual([
      `FLEET ${JSON.stringify(big)}: is 17 MiB, more than the 16 MiB gpufleet reads from an input file; pass --max-input-size 18MiB ` +
        `to read it`,
    ]); // 17 MiB and a few KiB
    expect(snapshot(dir)).toEqual(before);
  });

  test('fails on a fleet file that is not UTF-8 (a Latin-1 byte is not silently replaced)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'latin1.fleet.yaml');
    const head = Buffer.from('# caf');
    fs.writeFileSync(file, Buffer.concat([head, Buffer.from([0xe9]), Buffer.from(`\n${FLEET_TEXT}`)]));
    const r = await cli('plan', file, '--json');
    expect(expectInputError(r, 1)).toEqual([
      `FLEET ${JSON.stringify(file)}: is not UTF-8 text (invalid byte sequence at byte ${head.length})`,
    ]);
  });

  test('fails on a file that is not a fleet (say /etc/passwd) without printing its content', async () => {
    const passwd = Array.from({ length: 60 }, (_, i) => `user${i}:x:${1000 + i}:${1000 + i}:User ${i}:/home/user${i}:/bin/bash`).join('\n');
    const file = path.join(tempDir(), 'passwd');
    fs.writeFileSync(file, passwd);
    const r = await cli('plan', file);
    const [line] = expectInputError(r, 1);
    expect(line).toMatch(/^fleet: expected a mapping .*, got "user0:x:1000:1000:User 0:.*…" \(\d+ characters\)/);
    expect(r.stderr).not.toContain('user59');
    expect(r.stderr.length).toBeLessThan(500);
  });

  test('fails on a 1 MB model name with one bounded line, not a 1 MB line', async () => {
    const name = 'a'.repeat(1_000_000);
    const file = path.join(tempDir(), 'long-name.fleet.yaml');
    fs.writeFileSync(file, FLEET_TEXT.replace('- name: resnet50', `- name: ${name}`));
    const r = await cli('plan', file, '--json');
    const lines = expectInputError(r, 1);
    expect(lines[0]).toMatch(/^models\[0\]\.name: expected a DNS-1123 label/);
    expect(r.stderr.length).toBeLessThan(500);
  });
});

/** The small fleet's plan saved by `plan --json`, once for the `saved plans…` blocks below. */
const savedPlan = once(async () => {
  const dir = tempDir();
  const planFile = path.join(dir, 'plan.json');
  const r = await cli('plan', SMALL_FLEET, '--json', '--out', planFile);
  expect(r.code).toBe(0);
  return { planFile, doc: JSON.parse(fs.readFileSync(planFile, 'utf8')) };
});

/** Writes a changed copy of the saved plan and runs report --plan on it; the page must not be written. */
async function reportWith(change: (d: any) => void): Promise<{ r: Run; file: string }> {
  const d = JSON.parse(JSON.stringify((await savedPlan()).doc));
  change(d);
  const work = tempDir();
  const file = path.join(work, 'plan.json');
  fs.writeFileSync(file, JSON.stringify(d, null, 2));
  const out = path.join(work, 'report.html');
  const r = await cli('report', SMALL_FLEET, '--plan', file, '--out', out);
  expect(fs.readdirSync(work)).toEqual(['plan.json']);
  return { r, file };
}

describe('saved plans are validated before report --plan uses them: the plan as saved, wrong types', () => {
  let planFile: string;
  let doc: any;
  beforeAll(async () => ({ planFile, doc } = await savedPlan()));

  test('draws the saved plan unchanged (the validator accepts what plan --json writes)', async () => {
    const out = path.join(tempDir(), 'report.html');
    const r = await cli('report', SMALL_FLEET, '--plan', planFile, '--out', out);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toContain('<svg');
  });

  test('fails on a string share (it used to be drawn)', async () => {
    const { r, file } = await reportWith((d) => {
      d.gpus[0].slices[0].models[0].share = String(d.gpus[0].slices[0].models[0].share);
    });
    const share = doc.gpus[0].slices[0].models[0].share;
    expect(expectInputError(r, 1)).toEqual([
      `--plan ${JSON.stringify(file)}: gpus[0].slices[0].models[0].share: expected a number in [0, 1], got "${share}"`,
    ]);
  });

  test('fails on null entries (they used to crash with exit 1)', async () => {
    const { r, file } = await reportWith((d) => {
      d.gpus[0].slices[0].models.push(null);
      d.gpus[0].slices.push(null);
      d.nodes[0] = null;
      d.summary.notes = [null];
    });
    const models = doc.gpus[0].slices[0].models.length;
    const slices = doc.gpus[0].slices.length;
    const at = `--plan ${JSON.stringify(file)}`;
    expect(expectInputError(r, 4)).toEqual([
      `${at}: gpus[0].slices[0].models[${models}]: expected an object with name, batch, instances, share, rps, got null`,
      `${at}: gpus[0].slices[${slices}]: expected an object with profile, start, models, got null`,
      `${at}: nodes[0]: expected an object with name, instanceType, gpuType, migConfig, gpus, got null`,
      `${at}: summary.notes[0]: expected a text of at most 4096 characters, got null`,
    ]);
  });
});

describe('saved plans are validated before report --plan uses them: bounds, keys, references, long and many problems', () => {
  let doc: any;
  beforeAll(async () => ({ doc } = await savedPlan()));

  test('fails on numbers out of their bounds, each named with its path and value', async () => {
    const { r, file } = await reportWith((d) => {
      const m = d.gpus[0].slices[0].models[0];
      m.batch = 1.5;
      m.instances = 0;
      m.rps = -3;
      d.gpus[0].slices[0].start = 1e300;
      d.summary.gpuCount = 1e20;
      d.summary.costPerHour = 'cheap';
    });
    const at = `--plan ${JSON.stringify(file)}`;
    expect(expectInputError(r, 6)).toEqual([
      `${at}: gpus[0].slices[0].start: expected an integer in [0, 7], got 1e+300`,
      `${at}: gpus[0].slices[0].models[0].batch: expected an integer in [1, 2147483647], got 1.5`,
      `${at}: gpus[0].slices[0].models[0].instances: expected an integer in [1, 2147483647], got 0`,
      `${at}: gpus[0].slices[0].models[0].rps: expected a number in [0, 1e9], got -3`,
      `${at}: summary.gpuCount: expected an integer in [0, 1e6], got 100000000000000000000`,
      `${at}: summary.costPerHour: expected a number in [0, 1e9], got "cheap"`,
    ]);
  });

  test('fails on an unknown key, a missing field and a dangling reference', async () => {
    const { r, file } = await reportWith((d) => {
      d.gpus[0].colour = 'red';
      delete d.gpus[0].mig;
      d.nodes[0].gpus.push('gpu-999');
    });
    const at = `--plan ${JSON.stringify(file)}`;
    expect(expectInputError(r, 3)).toEqual([
      `${at}: gpus[0].colour: unknown key; allowed: id, type, node, mig, slices`,
      `${at}: gpus[0].mig: required, expected true or false`,
      `${at}: nodes[0].gpus[${doc.nodes[0].gpus.length}]: "gpu-999" is no GPU id of gpus`,
    ]);
  });

  test('fails on a long value, quoting 100 characters of it', async () => {
    const { r } = await reportWith((d) => {
      d.gpus[0].type = 'X'.repeat(100_000);
    });
    const [line] = expectInputError(r, 1);
    expect(line).toMatch(/gpus\[0\]\.type: expected a name .*, got "X{100}…" \(100000 characters\)$/);
  });

  test('fails on thousands of problems with 50 lines and a count of the rest', async () => {
    const { r } = await reportWith((d) => {
      d.gpus = Array.from({ length: 3000 }, () => null);
    });
    const lines = expectInputError(r, 51);
    expect(lines[50]).toMatch(/: \.\.\. and 29\d\d more problems$/);
  });
});

describe('--out writes neither the input, nor through links, nor into special files', () => {
  test('fails when --out is the fleet file itself, and leaves the fleet intact', async () => {
    const dir = tempDir();
    const fleet = path.join(dir, 'fleet.yaml');
    fs.writeFileSync(fleet, FLEET_TEXT);
    const before = snapshot(dir);
    const r = await cli('plan', fleet, '--json', '--out', fleet);
    expect(expectInputError(r, 1)).toEqual([
      `--out ${JSON.stringify(fleet)}: is the input file ${JSON.stringify(fleet)}; writing there would overwrite it, choose another path`,
    ]);
    expect(snapshot(dir)).toEqual(before);
  });

  test('fails when --out names the fleet another way: another spelling of the path, or a hard link', async () => {
    const dir = tempDir();
    const fleet = path.join(dir, 'fleet.yaml');
    fs.writeFileSync(fleet, FLEET_TEXT);
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.linkSync(fleet, path.join(dir, 'hard.yaml'));
    const before = snapshot(dir);
    for (const out of [path.join(dir, 'sub', '..', 'fleet.yaml'), path.join(dir, 'hard.yaml')]) {
      const r = await cli('report', fleet, '--out', out);
      expect(expectInputError(r, 1)[0]).toMatch(/: is the input file .*; writing there would overwrite it/);
    }
    expect(snapshot(dir)).toEqual(before);
  });

  test('fails when report --out is the --plan document', async () => {
    const dir = tempDir();
    const planFile = path.join(dir, 'plan.json');
    expect((await cli('plan', SMALL_FLEET, '--json', '--out', planFile)).code).toBe(0);
    const before = snapshot(dir);
    const r = await cli('report', SMALL_FLEET, '--plan', planFile, '--out', planFile);
    expect(expectInputError(r, 1)[0]).toMatch(/^--out ".*plan\.json": is the input file ".*plan\.json"/);
    expect(snapshot(dir)).toEqual(before);
  });

  test('fails on a symbolic link as --out: neither the link nor its target changes', async () => {
    const dir = tempDir();
    const target = path.join(dir, 'target.json');
    fs.writeFileSync(target, 'keep');
    const link = path.join(dir, 'plan.json');
    fs.symlinkSync(target, link);
    const dangling = path.join(dir, 'dangling.json');
    fs.symlinkSync(path.join(dir, 'nowhere.json'), dangling);
    const before = snapshot(dir);
    for (const out of [link, dangling]) {
      const r = await cli('plan', SMALL_FLEET, '--json', '--out', out);
      expect(expectInputError(r, 1)[0]).toMatch(/^--out ".*": is a symbolic link; gpufleet does not write through links/);
    }
    expect(snapshot(dir)).toEqual(before);
  });

  (canMkfifo ? test : test.skip)('fails on a named pipe or a device as --out', async () => {
    const dir = tempDir();
    const fifo = path.join(dir, 'plan.json');
    execFileSync('mkfifo', [fifo]);
    const before = snapshot(dir);
    const r = await cli('plan', SMALL_FLEET, '--json', '--out', fifo);
    expect(expectInputError(r, 1)).toEqual([`--out ${JSON.stringify(fifo)}: is a named pipe (FIFO); gpufleet writes only regular files`]);
    expect(snapshot(dir)).toEqual(before);
    const dev = await cli('report', SMALL_FLEET, '--out', '/dev/null');
    expect(expectInputError(dev, 1)).toEqual(['--out "/dev/null": is a character device; gpufleet writes only regular files']);
  });

  test('fails on --out before planning: a bad --out with a fleet that does not exist reports the --out', async () => {
    const dir = tempDir();
    const link = path.join(dir, 'out.json');
    fs.symlinkSync(path.join(dir, 'x'), link);
    const r = await cli('plan', path.join(dir, 'missing.yaml'), '--out', link);
    expect(expectInputError(r, 1)[0]).toMatch(/^--out ".*out\.json": is a symbolic link/);
  });

  test('still writes a new file and replaces an existing regular file whole', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'deep', 'plan.json');
    expect((await cli('plan', SMALL_FLEET, '--json', '--out', out)).code).toBe(0);
    fs.writeFileSync(out, 'old');
    expect((await cli('plan', SMALL_FLEET, '--json', '--out', out)).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).fleet).toBe('payments-and-vision');
    expect(fs.readdirSync(path.dirname(out))).toEqual(['plan.json']);
  });
});
