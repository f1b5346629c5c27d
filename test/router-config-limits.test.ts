/**
 * Router config foot-guns (issue 14, item 5) and bounded reading of `gpufleet router --config` (item 1): every
 * case exits 2 with one line naming the path and the value (at most 100 characters of it), no stack trace,
 * before the router listens on anything. `runRouterCli` runs in-process: a config error returns before a socket
 * is opened.
 *
 * Timers: Node arms a timer of more than 2^31 - 1 ms with 1 ms instead (lib/internal/timers.js, `Timeout`
 * constructor: "TimeoutOverflowWarning: ... does not fit into a 32-bit signed integer. Timeout duration was set
 * to 1."), so a `loadTimeoutSeconds` of 3,000,000 once made every cold request time out at once.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runRouterCli } from '../constructs/runtime';
import { ConfigError, DEFAULT_REQUEST_TIMEOUT_SECONDS, loadConfigFile, ROUTER_LIMITS, validateConfig } from '../constructs/runtime/config';
import { ROUTER_FLEET_FILES } from './support/triton-standin-procs';

const BACKENDS = [{ name: 'a', url: 'http://127.0.0.1:8000', memoryGiB: 20 }];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'router-limits-'));
let n = 0;
const write = (text: string, ext = 'yaml'): string => {
  const f = path.join(dir, `c${n++}.${ext}`);
  fs.writeFileSync(f, text);
  return f;
};

/** Runs `gpufleet router --config file` in-process; the exit code, stdout and stderr. */
async function run(file: string): Promise<{ code: number; out: string; err: string }> {
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await runRouterCli(['--config', file]);
    return { code, out: out.mock.calls.map((c) => String(c[0])).join(''), err: err.mock.calls.map((c) => String(c[0])).join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** Exit 2, nothing on stdout, exactly one line on stderr without a stack frame; that line. */
async function refused(file: string): Promise<string> {
  const r = await run(file);
  expect(r.code).toBe(2);
  expect(r.out).toBe('');
  expect(r.err.split('\n')).toHaveLength(2);
  expect(r.err).not.toMatch(/\n\s+at /);
  expect(r.err.length).toBeLessThan(600);
  return r.err.replace(/\n$/, '');
}

test('the longest timer setting fits in what Node can arm', () => {
  // Node's TIMEOUT_MAX (lib/internal/timers.js) is 2^31 - 1 ms; above it the timer is set to 1 ms with a
  // TimeoutOverflowWarning ("2147484000 does not fit into a 32-bit signed integer. Timeout duration was set to 1.",
  // seen on this Node when arming (maxTimerSeconds + 1) s)
  expect(ROUTER_LIMITS.maxTimerSeconds * 1000).toBeLessThanOrEqual(2 ** 31 - 1);
  expect((ROUTER_LIMITS.maxTimerSeconds + 1) * 1000).toBeGreaterThan(2 ** 31 - 1);
});

describe('timers are bounded to what Node can arm', () => {
  const timers = [
    'loadTimeoutSeconds',
    'refreshIntervalSeconds',
    'requestTimeoutSeconds',
    'loadFailureBackoffSeconds',
    'unloadWaitSeconds',
    'indexTimeoutSeconds',
    'healthTimeoutSeconds',
  ];
  test.each(timers)('fails on %s of 3,000,000 s (about 35 days), naming the bound', (key) => {
    expect(() => validateConfig({ backends: BACKENDS, [key]: 3_000_000 })).toThrow(
      new ConfigError(
        `${key}: expected a number >= ${key === 'refreshIntervalSeconds' ? 0.05 : /Backoff|request/.test(key) ? 0 : 0.001} and <= ` +
          `2147483, got 3000000`,
      ),
    );
  });

  test('accepts the bound itself', () => {
    expect(validateConfig({ backends: BACKENDS, loadTimeoutSeconds: 2147483 }).loadTimeoutSeconds).toBe(2147483);
  });
});

describe('queues, lists and memory', () => {
  test('fails on maxQueuePerModel 0 (every cold request would wait forever or be refused) and on a huge one', () => {
    expect(() => validateConfig({ backends: BACKENDS, maxQueuePerModel: 0 })).toThrow(
      new ConfigError('maxQueuePerModel: expected an integer >= 1 and <= 1000000, got 0'),
    );
    expect(() => validateConfig({ backends: BACKENDS, maxQueuePerModel: 1e12 })).toThrow(
      new ConfigError('maxQueuePerModel: expected an integer >= 1 and <= 1000000, got 1000000000000'),
    );
  });

  test('fails on memory budgets beyond any node and models beyond any GPU', () => {
    expect(() => validateConfig({ backends: [{ ...BACKENDS[0], memoryGiB: 1e20 }] })).toThrow(
      new ConfigError('backends[0].memoryGiB: expected a number > 0 and <= 65536, got 100000000000000000000'),
    );
    expect(() => validateConfig({ backends: BACKENDS, models: [{ name: 'm', memoryGiB: 5000 }] })).toThrow(
      new ConfigError('models[0].memoryGiB: expected a number > 0 and <= 1024, got 5000'),
    );
  });

  test('fails on more than 1,000 backends, naming the count', () => {
    const backends = Array.from({ length: 1001 }, (_, i) => ({
      name: `b${i}`,
      url: `http://10.0.${i >> 8}.${i & 255}:8000`,
      memoryGiB: 1,
    }));
    expect(() => validateConfig({ backends })).toThrow(new ConfigError('backends: expected at most 1000 backends, got 1001'));
  });
});

describe('defaults: loopback listener, an upstream timeout', () => {
  test('a backend that stops answering is given up after 300 s by default (it once waited forever)', () => {
    const c = validateConfig({ backends: BACKENDS });
    expect(DEFAULT_REQUEST_TIMEOUT_SECONDS).toBe(300);
    expect(c.requestTimeoutSeconds).toBe(300);
    expect(validateConfig({ backends: BACKENDS, requestTimeoutSeconds: 0 }).requestTimeoutSeconds).toBe(0);
  });

  test('listen as a bare port binds loopback, never all interfaces', () => {
    expect(validateConfig({ listen: 9000, backends: BACKENDS })).toMatchObject({ host: '127.0.0.1', port: 9000 });
    expect(validateConfig({ backends: BACKENDS })).toMatchObject({ host: '127.0.0.1', port: 9000 });
  });
});

describe('messages quote at most 100 characters of any value', () => {
  test('fails on a 1 MB backend name with one bounded line', () => {
    expect(() => validateConfig({ backends: [{ ...BACKENDS[0], name: 'n'.repeat(1_000_000) }] })).toThrow(
      new ConfigError(
        `backends[0].name: expected a name of letters, digits, "-", "_" or "." (at most 253 characters), got "${'n'.repeat(100)}…" ` +
          `(1000000 characters)`,
      ),
    );
  });

  test('fails on a 1 MB unknown key with one bounded line; a key with a newline as one escaped line', () => {
    const e = (() => {
      try {
        validateConfig({ backends: BACKENDS, ['k'.repeat(1_000_000)]: 1 });
      } catch (x) {
        return (x as Error).message;
      }
      return '';
    })();
    expect(e).toMatch(new RegExp(`^\\["${'k'.repeat(100)}…" \\(1000000 characters\\)\\]: unknown key, allowed: listen, `));
    expect(e.length).toBeLessThan(400);
    expect(() => validateConfig({ backends: [{ ...BACKENDS[0], 'a\nb': 1 }] })).toThrow(
      /^backends\[0\]\["a\\nb"\]: unknown key, allowed: name, url/,
    );
  });
});

describe('gpufleet router --config reads a bounded, regular file', () => {
  test('fails on /dev/zero from its type, before reading (it once grew ~0.8 GB/s)', async () => {
    expect(await refused('/dev/zero')).toBe(
      'gpufleet router: --config "/dev/zero": is a character device, not a regular file; gpufleet reads only regular files',
    );
  });

  test('fails on a folder and a file over 16 MiB', async () => {
    expect(await refused(dir)).toBe(`gpufleet router: --config ${JSON.stringify(dir)}: is a directory, expected a file`);
    const big = write('');
    fs.truncateSync(big, 16 * 1024 * 1024 + 1);
    expect(await refused(big)).toBe(
      `gpufleet router: --config ${JSON.stringify(big)}: is 16 MiB, more than the 16 MiB gpufleet reads from an input file`,
    );
  });

  test('fails on a YAML alias bomb with exit 2 and one line', async () => {
    const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++)
      levels.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const file = write(`${levels.join('\n')}\nbackends: []\n`);
    expect(await refused(file)).toMatch(
      new RegExp(`^gpufleet router: ${file.replace(/[.]/g, '\\.')}: YAML aliases: the document expands its aliases more than 100 times`),
    );
  });

  test('fails on a duplicate key with its line, which YAML would otherwise keep one of', async () => {
    const file = write(
      'backends:\n  - { name: a, url: "http://127.0.0.1:8000", memoryGiB: 20 }\nloadTimeoutSeconds: 5\nloadTimeoutSeconds: 3000000\n',
    );
    expect(await refused(file)).toBe(
      `gpufleet router: ${file}:4:1: loadTimeoutSeconds: duplicate key (first at line 3, column 1); keys must be unique`,
    );
  });

  test('fails on a bound in the file with the file and the path', async () => {
    const file = write(JSON.stringify({ backends: BACKENDS, loadTimeoutSeconds: 1e10 }), 'json');
    expect(await refused(file)).toBe(
      `gpufleet router: ${file}: loadTimeoutSeconds: expected a number >= 0.001 and <= 2147483, got 10000000000`,
    );
  });

  test('still reads a valid file', () => {
    const file = write('listen: 0\nadmin: false\nbackends:\n  - { name: a, url: "http://127.0.0.1:8000", memoryGiB: 20 }\n');
    expect(loadConfigFile(file)).toMatchObject({ host: '127.0.0.1', port: 0, requestTimeoutSeconds: 300, maxQueuePerModel: 256 });
  });
});

test('the router imports from fleet only the files the Dockerfile copies into its image', () => {
  // imports are followed from constructs/runtime through constructs/fleet: a new one the image lacks would
  // build a router that fails to start
  const repo = path.join(__dirname, '..');
  const runtime = path.join(repo, 'constructs', 'runtime');
  const found = new Set<string>();
  const visit = (file: string): void => {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/from '(\.\.?\/[^']+)'/g)) {
      const target = path.resolve(path.dirname(file), `${m[1]}.ts`);
      if (path.dirname(target) !== path.join(repo, 'constructs', 'fleet') || found.has(path.basename(target))) continue;
      // (imports between runtime files are followed by the walk below)
      found.add(path.basename(target));
      visit(target);
    }
  };
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.ts')) visit(path.join(d, e.name));
    }
  };
  walk(runtime);
  expect([...found].sort()).toEqual(ROUTER_FLEET_FILES);
  const dockerfile = fs.readFileSync(path.join(repo, 'Dockerfile'), 'utf8');
  for (const f of ROUTER_FLEET_FILES) expect(dockerfile).toContain(`constructs/fleet/${f}`);
});
