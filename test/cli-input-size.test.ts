/**
 * `--max-input-size` (bin/lib/input-size.ts, docs/cli.md "Input files"): the 16 MiB limit on input files stays the
 * default (issue 14: a file a stranger hands a CI job cannot make gpufleet take gigabytes); a user who owns a
 * bigger fleet file raises it for one command, and the refusal of a file over the limit names the flag and the
 * size that reads it. In-process CLI runs (`main(argv)`), no child process.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { parseSize, raiseLimitHint } from '../bin/lib/input-size';
import { cli, expectInputError, snapshot } from './cli-fixtures/in-process';
import { SMALL_FLEET, tempDir } from './cli-fixtures/run-cli';

const MIB = 1024 * 1024;
const FLEET_JSON = JSON.stringify(parse(fs.readFileSync(SMALL_FLEET, 'utf8')), null, 2);

/** The small fleet as JSON, padded with trailing white space (valid JSON) to `bytes`. */
function paddedFleet(dir: string, bytes: number): string {
  const file = path.join(dir, 'big.fleet.json');
  fs.writeFileSync(file, FLEET_JSON + ' '.repeat(bytes - Buffer.byteLength(FLEET_JSON)));
  return file;
}

describe('--max-input-size', () => {
  test('a fleet file over 16 MiB is refused by default, naming the flag and the size that reads it; with the flag it plans', async () => {
    const dir = tempDir();
    const big = paddedFleet(dir, 16 * MIB + 1);
    const before = snapshot(dir);
    const refused = await cli('plan', big, '--json');
    expect(expectInputError(refused, 1)).toEqual([
      `FLEET ${JSON.stringify(big)}: is 16 MiB, more than the 16 MiB gpufleet reads from an input file; pass --max-input-size 17MiB ` +
        `to read it`,
    ]);
    expect(snapshot(dir)).toEqual(before);
    const read = await cli('plan', big, '--json', '--max-input-size', '17MiB');
    expect(read.code).toBe(0);
    expect(read.stderr).toBe('');
    const small = await cli('plan', SMALL_FLEET, '--json');
    expect(read.stdout).toBe(small.stdout); // the same plan as the YAML fleet
  });

  test('lowers the limit too, and the hint rounds up to whole MiB', async () => {
    const r = await cli('plan', SMALL_FLEET, '--max-input-size=100');
    const size = fs.statSync(SMALL_FLEET).size;
    expect(expectInputError(r, 1)).toEqual([
      `FLEET ${JSON.stringify(SMALL_FLEET)}: is ${(size / 1024).toFixed(1).replace(/\.0$/, '')} KiB, more than the 100 bytes ` +
        `gpufleet reads from an input file; pass --max-input-size 1MiB to read it`,
    ]);
  });

  // (synth reads its fleet through the same loadFleet; it is left out here because it loads the k8s layer first)
  test('applies to report and rebalance (their fleet file) as to plan', async () => {
    const dir = tempDir();
    for (const args of [
      ['report', SMALL_FLEET, '--out', path.join(dir, 'r.html')],
      ['rebalance', SMALL_FLEET, '--from', path.join(dir, 'none.json')],
    ]) {
      const [line] = expectInputError(await cli(...args, '--max-input-size', '10'), undefined);
      expect(line).toMatch(
        new RegExp(
          /^FLEET ".*small\.fleet\.yaml": is .* more than the 10 bytes gpufleet reads from an input file; pass /.source +
            /--max-input-size 1MiB to read it$/.source,
        ),
      );
    }
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test.each([
    ['lots', 'got "lots"'],
    ['1GiB', 'got "1GiB"'],
    ['0', 'got "0"'],
    ['16 MB', 'got "16 MB"'],
    ['-5MiB', 'got "-5MiB"'],
  ])('fails on --max-input-size %s: a usage error naming the accepted sizes, before reading anything', async (value, got) => {
    const lines = expectInputError(await cli('plan', SMALL_FLEET, `--max-input-size=${value}`), 2);
    expect(lines[0]).toBe(
      `--max-input-size: expected a size from 1 byte to 256 MiB (bytes, or a number with KiB, MiB or GiB: 200MiB), ${got}`,
    );
    expect(lines[1]).toBe('run "gpufleet plan --help" for usage');
  });

  test('sizes: bytes, KiB, MiB, GiB (case-insensitive); the hint past the 256 MiB ceiling says so', () => {
    expect([parseSize('16777216'), parseSize('200MiB'), parseSize('1.5 kib'), parseSize('1GiB'), parseSize('2MB'), parseSize('')]).toEqual([
      16 * MIB,
      200 * MIB,
      1536,
      1024 * MIB,
      undefined,
      undefined,
    ]);
    expect(raiseLimitHint(16 * MIB, 137.4 * MIB)).toBe('pass --max-input-size 138MiB to read it');
    expect(raiseLimitHint(16 * MIB, undefined)).toBe('pass --max-input-size 32MiB (or more) to read it');
    expect(raiseLimitHint(16 * MIB, 300 * MIB)).toBe('gpufleet reads at most 256 MiB (--max-input-size), so split the fleet');
  });

  test('the flag is in the help of every command that reads a fleet file', async () => {
    for (const command of ['plan', 'report', 'synth', 'rebalance']) {
      const r = await cli(command, '--help');
      expect(r.stdout).toContain('--max-input-size SIZE');
    }
  });
});
