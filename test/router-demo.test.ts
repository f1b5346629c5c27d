/**
 * `gpufleet router --demo [--script]`: the real router in front of two Triton stand-ins, in this process.
 *
 * The scripted run is checked against an independent model of the router's documented policy (docs/router.md,
 * *Behaviour*: a cold model goes to the backend with the most free budget; with no room, loaded models are unloaded in
 * least-recently-used order until it fits), so its lines report what the router did, not what the demo says. The
 * stand-ins run with their ordinary options (a memory budget, model sizes, load time): nothing tells them about the
 * demo. Triton r25.08 answers an unload before the model is destroyed and frees its memory only then (core
 * `model_lifecycle.cc` AsyncUnload, ../shared/triton/README.md); the stand-in fails a load into memory still held as
 * CUDA out of memory, so zero out-of-memory loads shows the router waited for the eviction to complete.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { DEMO_BACKEND_GIB, DEMO_BACKENDS, DEMO_MODELS, DEMO_SCRIPT, runRouterCli, runRouterDemo, type Log } from '../constructs/runtime';
import type { RunningStandin, StandinStats } from '../constructs/runtime/standin';
import { testIf } from './support/notes';

const quiet: Log = { info: () => undefined, warn: () => undefined };

/** Sockets, servers and timers this process holds (what would keep `gpufleet router --demo --script` from exiting). */
function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) if (/TCP|Timeout|HTTP|Http2/.test(r)) out[r] = (out[r] ?? 0) + 1;
  return out;
}

/** The kinds of handle of which `after` holds more than `before` (jest's own timers and sockets come and go). */
function leaked(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .filter(([k, n]) => n > (before[k] ?? 0))
      .map(([k, n]) => [k, n - (before[k] ?? 0)]),
  );
}

/** Runs shell lines without blocking this process (the router under test runs in it). */
function bash(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** After closing, Node drops the handles of destroyed sockets on the next turns of the loop. */
async function settled(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/**
 * The handles held beyond `before`, once they stop changing: jest's own short timers come and go, so a difference is
 * looked at again for up to half a second. What the demo could leak lives longer: a server, a kept-alive socket, the
 * router's refresh timer (10 s).
 */
async function leftOver(before: Record<string, number>): Promise<Record<string, number>> {
  const deadline = Date.now() + 500;
  for (;;) {
    await settled();
    const diff = leaked(before, handles());
    if (Object.keys(diff).length === 0 || Date.now() > deadline) return diff;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * What the script must show, by the documented policy: for each request, `cold` (with the backend it loads on and the
 * models evicted there) or `hit`. Ties between equally free backends go to the first listed.
 */
function expectedEvents(): Array<{ model: string; kind: 'cold' | 'hit'; backend: string; evicted: string[] }> {
  const size = new Map(DEMO_MODELS.map((m) => [m.name, m.memoryGiB]));
  const held = DEMO_BACKENDS.map(() => new Map<string, number>()); // model → last use
  let clock = 0;
  const free = (i: number): number => DEMO_BACKEND_GIB - [...held[i].keys()].reduce((s, m) => s + size.get(m)!, 0);
  return DEMO_SCRIPT.map((model) => {
    clock++;
    const home = held.findIndex((h) => h.has(model));
    if (home >= 0) {
      held[home].set(model, clock);
      return { model, kind: 'hit' as const, backend: DEMO_BACKENDS[home], evicted: [] };
    }
    const need = size.get(model)!;
    let best = -1;
    for (let i = 0; i < held.length; i++) if (free(i) >= need && (best < 0 || free(i) > free(best))) best = i;
    const evicted: string[] = [];
    if (best < 0) {
      const lru = held.flatMap((h, i) => [...h].map(([m, used]) => ({ m, used, i }))).sort((a, b) => a.used - b.used);
      const freed = new Map<number, string[]>();
      for (const c of lru) {
        freed.set(c.i, [...(freed.get(c.i) ?? []), c.m]);
        if (free(c.i) + freed.get(c.i)!.reduce((s, m) => s + size.get(m)!, 0) >= need) {
          best = c.i;
          evicted.push(...freed.get(c.i)!);
          break;
        }
      }
      for (const m of evicted) held[best].delete(m);
    }
    held[best].set(model, clock);
    return { model, kind: 'cold' as const, backend: DEMO_BACKENDS[best], evicted };
  });
}

describe('gpufleet router --demo --script', () => {
  let stdout = '';
  let code: number;
  let stats: StandinStats[] = [];
  let before: Record<string, number>;
  let left: Record<string, number>;

  beforeAll(async () => {
    await settled();
    before = handles();
    let standins: readonly RunningStandin[] = [];
    code = await runRouterDemo({ script: true, out: (t) => (stdout += t), log: quiet, onStarted: (r) => (standins = r.standins) });
    stats = standins.map((s) => s.stats());
    left = await leftOver(before);
  });

  test('exits 0 after one line per request, every request answered 200', () => {
    expect(code).toBe(0);
    const steps = stdout.split('\n').filter((l) => /^ *\d+\. /.test(l));
    expect(steps).toHaveLength(DEMO_SCRIPT.length);
    expect(steps.every((l) => / 200 in \d+\.\d{3} s /.test(l))).toBe(true);
    expect(stdout).toContain(`${DEMO_SCRIPT.length} requests, ${DEMO_SCRIPT.length} answered 200`);
  });

  test('shows a cold load with its time, a hit, and an eviction under memory pressure', () => {
    expect(stdout).toMatch(/^ 1\. resnet50 +cold load {2}200 in \d+\.\d{3} s {2}loaded on triton-0$/m);
    expect(stdout).toMatch(/^ 2\. resnet50 +hit {8}200 in \d+\.\d{3} s {2}served by triton-0, already loaded there$/m);
    expect(stdout).toMatch(
      new RegExp(
        /^ 7\. distilbert +cold load {2}200 in \d+\.\d{3} s {2}evicted bert-base from triton-1 \(least recently used\), /.source +
          /then loaded on triton-1$/.source,
        'm',
      ),
    );
    // Triton's own index after the eviction: the victim destroyed (UNAVAILABLE, unloaded), the newcomer READY
    expect(stdout).toContain(
      "    Triton's repository index on triton-1: bert-base UNAVAILABLE (unloaded), distilbert READY, whisper-small READY\n",
    );
    expect(stdout).toMatch(/^ 8\. bert-base +cold load {2}200 in \d+\.\d{3} s {2}loaded on triton-0 \(evicted at step 7\)$/m);
    expect(stdout).toContain('6 cold loads, 2 hits, 1 eviction\n');
  });

  test("every line agrees with the router's documented placement and LRU policy, modelled independently", () => {
    const lines = stdout.split('\n').filter((l) => /^ *\d+\. /.test(l));
    const seen = lines.map((l) => {
      const m = new RegExp(
        /^ *\d+\. (\S+) +(cold load|hit) +200 in [\d.]+ /.source +
          /s {2}(?:evicted (\S+) from (\S+) \(least recently used\), then )?(?:loaded on|served by) (\S+?),?(?: |$)/.source,
      ).exec(l);
      if (!m) throw new Error(`unexpected line: ${l}`);
      return { model: m[1], kind: m[2] === 'hit' ? 'hit' : 'cold', backend: m[5], evicted: m[3] ? [m[3]] : [] };
    });
    expect(seen).toEqual(expectedEvents());
    // the model has at least one hit and one eviction to show (the script is worth running)
    expect(expectedEvents().some((e) => e.kind === 'hit')).toBe(true);
    expect(expectedEvents().some((e) => e.evicted.length > 0)).toBe(true);
  });

  test('the stand-ins saw what Triton would: loads within memory, none into memory still held by an evicted model', () => {
    const total = (k: 'loads' | 'oomLoads' | 'loadsIntoUnfreedMemory' | 'failedLoads' | 'unloads'): number =>
      stats.reduce((s, x) => s + x[k], 0);
    expect(total('loads')).toBe(6);
    expect(total('unloads')).toBe(1);
    expect(total('oomLoads')).toBe(0);
    expect(total('loadsIntoUnfreedMemory')).toBe(0);
    expect(total('failedLoads')).toBe(0);
    for (const s of stats) expect(s.maxUsedGiB).toBeLessThanOrEqual(DEMO_BACKEND_GIB);
    // loads go over gRPC (RepositoryModelLoad), as the ModelRouter construct renders them
    expect(stats.map((s) => s.paths['POST /v2/repository/models/resnet50/load'] ?? 0)).toEqual([0, 0]);
  });

  test('docs/router.md shows this very output, times and ports aside', () => {
    const normal = (t: string): string => t.replace(/\d+\.\d{3} s/g, 'T s').replace(/(127\.0\.0\.1:|port )\d+/g, '$1PORT');
    const doc = fs.readFileSync(path.join(__dirname, '..', 'docs', 'router.md'), 'utf8');
    const block = /npx gpufleet router --demo --script\n```\n[\s\S]*?```\n(gpufleet router demo:[\s\S]*?)```/.exec(doc);
    expect(block).not.toBeNull();
    expect(normal(block![1])).toBe(normal(stdout).trimEnd() + '\n');
  });

  test('closes everything it opened: no server, socket or timer left behind', () => {
    expect(left).toEqual({});
  });
});

describe('gpufleet router --demo (interactive)', () => {
  let stdout = '';
  let stop!: () => void;
  let run: Promise<number>;
  let routerUrl: string;

  beforeAll(async () => {
    const stopped = new Promise<void>((r) => (stop = r));
    let started!: () => void;
    const ready = new Promise<void>((r) => (started = r));
    run = runRouterDemo({
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      out: (t) => {
        stdout += t;
        if (t.includes('Ctrl-C')) started();
      },
      log: quiet,
      stop: stopped,
    });
    await ready;
    routerUrl = /^ {2}router +(http:\/\/127\.0\.0\.1:\d+) /m.exec(stdout)![1];
  });

  afterAll(async () => {
    stop();
    await run;
  });

  const curlLines = (): string[] => stdout.split('\n').filter((l) => /^(curl|for m in) /.test(l));

  test('prints the URLs and curl lines aimed at the router it started', () => {
    expect(curlLines().length).toBeGreaterThanOrEqual(5);
    for (const l of curlLines()) expect(l).toMatch(/http:\/\/127\.0\.0\.1:\d+\//);
    expect(curlLines()[0]).toContain(`-X POST ${routerUrl}/v2/models/resnet50/infer`);
    expect(stdout).toContain('Ctrl-C stops the router and the stand-ins.');
  });

  const haveCurl = spawnSync('curl', ['--version']).status === 0;
  testIf(haveCurl, 'curl is not installed')('the printed lines run as pasted: cold load, hit, then the loop that evicts', async () => {
    // one shell: the three request lines, then the metrics line (one bash start instead of two)
    const r = await bash([...curlLines().slice(0, 3), 'echo ---', curlLines()[4]].join('\n'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [requests, metrics] = r.stdout.split('---\n');
    const lines = requests.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual([expect.stringMatching(/^200 [\d.]+s$/), expect.stringMatching(/^200 [\d.]+s$/)]);
    expect(lines.slice(2)).toEqual(
      ['bert-base', 'yolov8s', 'whisper-small', 'distilbert'].map((m) => expect.stringMatching(new RegExp(`^${m} 200 [\\d.]+s$`))),
    );
    // the router's own counters: one hit, and the least recently used model (resnet50) evicted for distilbert
    expect(metrics).toMatch(/^gpufleet_router_cache_hits_total\{model="resnet50"\} 1$/m);
    expect(metrics).toMatch(/^gpufleet_router_model_unloads_total\{model="resnet50",backend="triton-0",reason="evicted"\} 1$/m);
  });

  test('stops on request and resolves 0, with nothing left listening', async () => {
    stop();
    expect(await run).toBe(0);
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(Number(new URL(routerUrl).port), '127.0.0.1');
      s.on('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.on('error', () => resolve(true));
    });
    expect(refused).toBe(true);
    expect(stdout.trimEnd().endsWith('stopping the router and the stand-ins')).toBe(true);
  });
});

describe('gpufleet router: demo flags', () => {
  const cli = async (argv: string[]): Promise<{ code: number; err: string }> => {
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const code = await runRouterCli(argv);
      return { code, err: err.mock.calls.map((c) => String(c[0])).join('') };
    } finally {
      err.mockRestore();
    }
  };

  test('fails on --demo with --config, --script without --demo, a non-loopback --listen (exit 2, one line and usage)', async () => {
    expect(await cli(['--demo', '--config', 'examples/router.yaml'])).toEqual({
      code: 2,
      err: expect.stringMatching(
        /^gpufleet router: --config: not with --demo \(the demo configures its own backends and models\)\nusage: /,
      ),
    });
    expect(await cli(['--script'])).toEqual({ code: 2, err: expect.stringMatching(/^gpufleet router: --script: only with --demo\n/) });
    expect(await cli(['--demo', '--listen', '0.0.0.0:9000'])).toEqual({
      code: 2,
      err: expect.stringMatching(
        /^gpufleet router: --listen: the demo listens on loopback only \(127\.0\.0\.1 or ::1\), got "0\.0\.0\.0:9000"\n/,
      ),
    });
    expect(await cli(['--demo', '--listen', 'nine'])).toEqual({
      code: 2,
      err: expect.stringMatching(/^gpufleet router: --listen: expected HOST:PORT with a port from 0 to 65535, got "nine"\n/),
    });
  });

  test('fails with exit 2 and the way out when the port is taken', async () => {
    const taken = http.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const before = handles();
      const r = await cli(['--demo', '--listen', `127.0.0.1:${port}`, '--admin', '127.0.0.1:0', '--log-level', 'silent']);
      expect(r).toEqual({
        code: 2,
        err: `gpufleet router: --listen: cannot listen on 127.0.0.1:${port}: EADDRINUSE; pass --listen 127.0.0.1:0 for any free port\n`,
      });
      expect(await leftOver(before)).toEqual({}); // the stand-ins it had started are closed
    } finally {
      taken.close();
    }
  });
});
