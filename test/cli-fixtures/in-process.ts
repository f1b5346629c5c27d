/**
 * The gpufleet CLI run in-process for the bad-input tests (`main(argv)` of bin/lib/main.ts, stdout and stderr
 * captured; no child process), and the checks every bad input must pass: exit 2, one bounded line per problem,
 * no stack trace, nothing on stdout, nothing written.
 */
import * as fs from 'fs';
import * as path from 'path';
import { main } from '../../bin/lib/main';

export interface Run { code: number; stdout: string; stderr: string }

/** `gpufleet ...args` in-process, with stdout and stderr captured (write callbacks are honoured). */
export async function cli(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const capture = (sink: (s: string) => void) => ((chunk: unknown, enc?: unknown, cb?: unknown) => {
    sink(String(chunk));
    const done = typeof enc === 'function' ? enc : cb;
    if (typeof done === 'function') done();
    return true;
  }) as typeof process.stdout.write;
  const o = jest.spyOn(process.stdout, 'write').mockImplementation(capture((s) => { stdout += s; }));
  const e = jest.spyOn(process.stderr, 'write').mockImplementation(capture((s) => { stderr += s; }));
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/** Every file under `dir` with its content (links as `-> target`), to prove nothing was written. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    const st = fs.lstatSync(p);
    out[name] = st.isSymbolicLink()
      ? `-> ${fs.readlinkSync(p)}`
      : st.isFile()
        ? fs.readFileSync(p, 'latin1')
        : st.isFIFO()
          ? '<fifo>'
          : '<dir>';
  }
  return out;
}

/** Exit 2, nothing on stdout, every stderr line bounded, no stack trace; returns the stderr lines. */
export function expectInputError(r: Run, lines?: number): string[] {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
  expect(r.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(r.stderr).not.toMatch(/internal error|Error:/);
  const out = r.stderr.trimEnd().split('\n');
  for (const l of out) expect(l.length).toBeLessThanOrEqual(450);
  if (lines !== undefined) expect(out).toHaveLength(lines);
  return out;
}
