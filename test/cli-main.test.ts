/**
 * The CLI's `main` in-process, for paths a child process cannot reach: an internal error (exit 1,
 * stack only with GPUFLEET_DEBUG=1) and the dispatch of `gpufleet router` to the runtime.
 */
import * as path from 'path';

jest.mock('../bin/lib/engine', () => ({
  loadFleet: () => {
    throw new TypeError("cannot read properties of undefined (reading 'slices')");
  },
}));
const runRouterCli = jest.fn(async (_argv: string[]) => 7);
const mockRuntime: { runRouterCli?: typeof runRouterCli } = { runRouterCli };
jest.mock('../constructs/runtime', () => mockRuntime);

import { main } from '../bin/lib/main';

function capture(): { out: () => string; err: () => string; restore: () => void } {
  let out = '';
  let err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s: any) => {
    out += String(s);
    return true;
  });
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((s: any) => {
    err += String(s);
    return true;
  });
  return {
    out: () => out,
    err: () => err,
    restore: () => {
      o.mockRestore();
      e.mockRestore();
    },
  };
}

describe('internal errors', () => {
  const saved = process.env.GPUFLEET_DEBUG;
  afterEach(() => {
    process.env.GPUFLEET_DEBUG = saved;
  });

  test('fails with exit 1 and a one-line message, no stack trace', async () => {
    delete process.env.GPUFLEET_DEBUG;
    const c = capture();
    const code = await main(['plan', 'fleet.yaml']);
    c.restore();
    expect(code).toBe(1);
    expect(c.out()).toBe('');
    expect(c.err()).toContain("gpufleet: internal error: cannot read properties of undefined (reading 'slices')");
    expect(c.err()).toContain('GPUFLEET_DEBUG=1');
    expect(c.err()).not.toMatch(/^\s+at /m);
  });

  test('fails with exit 1 and prints the stack with GPUFLEET_DEBUG=1', async () => {
    process.env.GPUFLEET_DEBUG = '1';
    const c = capture();
    const code = await main(['report', 'fleet.yaml', '--out', path.join('x', 'y.html')]);
    c.restore();
    expect(code).toBe(1);
    expect(c.err()).toMatch(/^\s+at /m);
  });
});

describe('gpufleet router', () => {
  test('hands the words after "router" to runRouterCli and returns its exit code', async () => {
    const code = await main(['router', '--config', 'examples/router.yaml']);
    expect(code).toBe(7);
    expect(runRouterCli).toHaveBeenCalledWith(['--config', 'examples/router.yaml']);
  });
});

describe('gpufleet router without the runtime', () => {
  afterEach(() => {
    mockRuntime.runRouterCli = runRouterCli;
  });

  test('fails with a clear message and exit 1 when the runtime has no runRouterCli', async () => {
    delete mockRuntime.runRouterCli;
    const c = capture();
    const code = await main(['router', '--config', 'x.yaml']);
    c.restore();
    expect(code).toBe(1);
    expect(c.err()).toBe('gpufleet router: the model router is not part of this build (constructs/runtime does not export runRouterCli)\n');
  });
});
