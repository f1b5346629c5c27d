/**
 * `npm run bench -- router`: the model router against Triton stand-ins, real processes on loopback.
 *
 * 1. Overhead: the same infer requests straight to a stand-in and through the router, in one run:
 *    added latency p50/p99 at 1 client, throughput at 1 and 64 concurrent clients.
 * 2. Cache: a Zipf(1.0) trace over 200 models on backends with room for 20, with the stand-in's load
 *    delay modelled on the host→GPU copy (16 GB in 0.3 s pinned ≈ 53 GB/s, in 4.8 s pageable ≈ 3.3 GB/s),
 *    scaled to each model's size: hit rate, loads per 1,000 requests, p50/p99 including cold loads.
 */
import { readFileSync } from 'fs';
import * as http from 'http';
import { inferBody, killAll, Proc, request, startRouter, startStandin, waitFor } from '../test/support/triton-standin-procs';
import { mulberry32 as rng } from '../constructs/planner/random';

const GIB = 1024 ** 3;
const PINNED_GBPS = 16e9 / 0.3 / 1e9;
const PAGEABLE_GBPS = 16e9 / 4.8 / 1e9;

interface RunResult {
  readonly latenciesMs: number[];
  readonly seconds: number;
  readonly errors: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Closed loop: `clients` workers send `total` requests, `path(i)` each, and time them. */
async function drive(base: string, clients: number, total: number, path: (i: number) => string): Promise<RunResult> {
  const u = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const body = Buffer.from(JSON.stringify(inferBody()));
  const latencies: number[] = new Array(total);
  let next = 0;
  let errors = 0;
  const one = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const t0 = process.hrtime.bigint();
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          method: 'POST',
          path: path(i),
          agent,
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () => {
            if (res.statusCode !== 200) errors++;
            latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6;
        resolve();
      });
      req.end(body);
    });
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) await one(next++);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  return { latenciesMs: latencies.sort((a, b) => a - b), seconds, errors };
}

async function metric(base: string, name: string): Promise<number> {
  const text = (await request(base, 'GET', '/metrics')).body;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === '{' || line[name.length] === ' ')) {
      if (name === 'gpufleet_router_model_loads_total' && !line.includes('result="success"')) continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

const f = (n: number, d = 2): string => n.toFixed(d);

/** CPU time (user + system) a process has used, ms, from /proc (NaN where there is no /proc). */
function procCpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
  } catch {
    return NaN;
  }
}
const pad = (s: string, n: number): string => s.padStart(n);

export async function overhead(): Promise<string[]> {
  const standin = await startStandin({ memoryGiB: 80, models: { resnet50: 1 }, loaded: ['resnet50'] });
  const router = await startRouter(
    {
      listen: '127.0.0.1:0',
      backends: [{ name: 'triton-0', url: standin.url, memoryGiB: 80 }],
      models: [{ name: 'resnet50', memoryGiB: 1 }],
    },
    ['--log-level', 'warn'],
  );
  await waitFor('router ready', async () => (await request(router.url, 'GET', '/v2/health/ready')).status === 200, 30000);
  const p = (): string => '/v2/models/resnet50/infer';
  const rows: string[] = [];
  // warm both paths (JIT, sockets)
  await drive(standin.url, 8, 2000, p);
  await drive(router.url, 8, 2000, p);
  const results: Record<string, RunResult> = {};
  const cpuMs: Record<string, { standin: number; router: number; client: number }> = {};
  for (const [clients, total] of [
    [1, 3000],
    [64, 6000],
  ] as const) {
    // alternate four rounds per path to spread background noise over both
    const runs: Record<string, RunResult[]> = { direct: [], router: [] };
    const cpu: Record<string, { standin: number; router: number; client: number }> = {
      direct: { standin: 0, router: 0, client: 0 },
      router: { standin: 0, router: 0, client: 0 },
    };
    for (let round = 0; round < 4; round++) {
      for (const [path, url] of [
        ['direct', standin.url],
        ['router', router.url],
      ] as const) {
        const s0 = procCpuMs(standin.child.pid);
        const r0 = procCpuMs(router.child.pid);
        const c0 = process.cpuUsage();
        runs[path].push(await drive(url, clients, total / 4, p));
        const c = process.cpuUsage(c0);
        cpu[path].standin += procCpuMs(standin.child.pid) - s0;
        cpu[path].router += procCpuMs(router.child.pid) - r0;
        cpu[path].client += (c.user + c.system) / 1000;
      }
    }
    const merge = (rs: RunResult[]): RunResult => ({
      latenciesMs: rs.flatMap((r) => r.latenciesMs).sort((x, y) => x - y),
      seconds: rs.reduce((a, r) => a + r.seconds, 0),
      errors: rs.reduce((a, r) => a + r.errors, 0),
    });
    results[`direct-${clients}`] = merge(runs.direct);
    results[`router-${clients}`] = merge(runs.router);
    cpuMs[`direct-${clients}`] = cpu.direct;
    cpuMs[`router-${clients}`] = cpu.router;
  }
  rows.push('overhead: infer through the router vs straight to the stand-in (loopback, stand-in answers at once)');
  rows.push(...overheadTable(results, cpuMs));
  const d1 = results['direct-1'];
  const r1 = results['router-1'];
  const d64 = results['direct-64'];
  const r64 = results['router-64'];
  const addedP50 = quantile(r1.latenciesMs, 0.5) - quantile(d1.latenciesMs, 0.5);
  const addedP99 = quantile(r1.latenciesMs, 0.99) - quantile(d1.latenciesMs, 0.99);
  const ratio = r64.latenciesMs.length / r64.seconds / (d64.latenciesMs.length / d64.seconds);
  rows.push(
    `added latency at 1 client: p50 ${f(addedP50, 3)} ms (target < 1 ms: ${addedP50 < 1 ? 'met' : 'NOT met'}), p99 ${f(addedP99, 3)} ms`,
  );
  rows.push(`throughput at 64 clients: router ${f(ratio * 100, 0)}% of direct (target >= 50%: ${ratio >= 0.5 ? 'met' : 'NOT met'})`);
  const c64 = cpuMs['router-64'];
  const perReq = (ms: number): number => (ms * 1000) / r64.latenciesMs.length;
  // on two idle cores: each single-threaded process is capped at one core, and the processes of a path share two
  const d64c = cpuMs['direct-64'];
  const directCap = 1 / Math.max(perReq(d64c.client), perReq(d64c.standin), (perReq(d64c.client) + perReq(d64c.standin)) / 2);
  const routerCap =
    1 /
    Math.max(
      perReq(c64.client),
      perReq(c64.standin),
      perReq(c64.router),
      (perReq(c64.client) + perReq(c64.standin) + perReq(c64.router)) / 2,
    );
  const bound = routerCap / directCap;
  if (!Number.isNaN(bound))
    rows.push(
      `  (CPU per request above: on two idle cores the router path could reach ${f(Math.min(bound, 1) * 100, 0)}% of direct; ` +
        'the rest is contention)',
    );
  await router.kill('SIGTERM');
  await standin.kill();
  return rows;
}

/** The overhead table: per number of clients and path, latency and throughput, then the CPU per request of each process. */
function overheadTable(
  results: Record<string, RunResult>,
  cpuMs: Record<string, { standin: number; router: number; client: number }>,
): string[] {
  const table: string[] = [];
  table.push(
    `${'clients'.padEnd(8)} ${'path'.padEnd(7)} ${pad('requests', 8)} ${pad('p50 ms', 8)} ${pad('p99 ms', 8)} ${pad('req/s', 8)} ` +
      `${pad('errors', 6)}   CPU µs/request: client stand-in router`,
  );
  for (const clients of [1, 64]) {
    for (const path of ['direct', 'router']) {
      const r = results[`${path}-${clients}`];
      const c = cpuMs[`${path}-${clients}`];
      const us = (ms: number): string => (Number.isNaN(ms) ? '-' : f((ms * 1000) / r.latenciesMs.length, 0));
      table.push(
        [
          String(clients).padEnd(8),
          path.padEnd(7),
          pad(String(r.latenciesMs.length), 8),
          pad(f(quantile(r.latenciesMs, 0.5), 3), 8),
          pad(f(quantile(r.latenciesMs, 0.99), 3), 8),
          pad(f(r.latenciesMs.length / r.seconds, 0), 8),
          pad(String(r.errors), 6),
        ].join(' ') +
          '   ' +
          [pad(us(c.client), 22), pad(us(c.standin), 8), pad(path === 'router' ? us(c.router) : '-', 6)].join(' '),
      );
    }
  }
  return table;
}

function zipfTrace(models: number, length: number, seed: number): number[] {
  const r = rng(seed);
  const cdf: number[] = [];
  let sum = 0;
  for (let i = 1; i <= models; i++) cdf.push((sum += 1 / i));
  return Array.from({ length }, () => {
    const x = r() * sum;
    let lo = 0;
    let hi = models - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  });
}

/**
 * Loads per 1,000 requests of a sequential LRU cache on the same trace and budgets (no concurrency, loads
 * instantaneous): what the router's eviction should approach.
 */
function lruLoadsPer1000(trace: readonly number[], warmup: number, sizes: readonly number[], budgets: readonly number[]): number {
  const held = budgets.map(() => new Map<number, number>());
  const used = budgets.map(() => 0);
  let clock = 0;
  let loads = 0;
  trace.forEach((m, i) => {
    const home = held.findIndex((h) => h.has(m));
    if (home >= 0) {
      held[home].set(m, ++clock);
      return;
    }
    if (i >= warmup) loads++;
    let best = -1;
    budgets.forEach((b, k) => {
      if (b - used[k] >= sizes[m] && (best < 0 || used[k] < used[best])) best = k;
    });
    if (best < 0) {
      const all: Array<[number, number, number]> = [];
      held.forEach((h, k) => h.forEach((t, mm) => all.push([t, k, mm])));
      all.sort((a, b) => a[0] - b[0]);
      const freed = budgets.map(() => 0);
      const victims: number[][] = budgets.map(() => []);
      for (const [, k, mm] of all) {
        freed[k] += sizes[mm];
        victims[k].push(mm);
        if (budgets[k] - used[k] + freed[k] >= sizes[m]) {
          best = k;
          for (const v of victims[k]) {
            held[k].delete(v);
            used[k] -= sizes[v];
          }
          break;
        }
      }
    }
    held[best].set(m, ++clock);
    used[best] += sizes[m];
  });
  return (loads / (trace.length - warmup)) * 1000;
}

export async function zipf(label: string, gbps: number, requests: number): Promise<string> {
  const MODELS = 200;
  const BACKENDS = 2;
  const r = rng(7);
  // sizes 0.25-1.5 GiB (rarely used models: small CNNs, encoders), in steps of 1/16 GiB; mean about 0.875 GiB
  const sizes = Array.from({ length: MODELS }, () => Math.round((0.25 + r() * 1.25) * 16) / 16);
  const names = sizes.map((_, i) => `m${String(i).padStart(3, '0')}`);
  const mean = sizes.reduce((s, x) => s + x, 0) / MODELS;
  const budgetGiB = Math.round(((20 * mean) / BACKENDS) * 16) / 16; // room for 20 average models in all
  const repo = Object.fromEntries(names.map((n, i) => [n, sizes[i]]));
  const standins = await Promise.all(
    Array.from({ length: BACKENDS }, () =>
      startStandin({ memoryGiB: budgetGiB, models: repo, loadGBps: gbps, loadDelayMs: 2, inferDelayMs: 2 }),
    ),
  );
  const router = await startRouter(
    {
      listen: '127.0.0.1:0',
      backends: standins.map((s, i) => ({ name: `triton-${i}`, url: s.url, memoryGiB: budgetGiB })),
      models: names.map((n, i) => ({ name: n, memoryGiB: sizes[i] })),
      maxQueuePerModel: 1024,
      refreshIntervalSeconds: 30,
    },
    ['--log-level', 'warn'],
  );
  await waitFor('router ready', async () => (await request(router.url, 'GET', '/v2/health/ready')).status === 200, 30000);
  const trace = zipfTrace(MODELS, requests + 300, 11);
  const path =
    (off: number) =>
    (i: number): string =>
      `/v2/models/${names[trace[off + i]]}/infer`;
  await drive(router.url, 16, 300, path(0)); // warm the cache: steady state, not cold start
  const [h0, m0, l0] = await Promise.all(
    ['gpufleet_router_cache_hits_total', 'gpufleet_router_cache_misses_total', 'gpufleet_router_model_loads_total'].map((n) =>
      metric(router.url, n),
    ),
  );
  const res = await drive(router.url, 16, requests, path(300));
  const [h1, m1, l1] = await Promise.all(
    ['gpufleet_router_cache_hits_total', 'gpufleet_router_cache_misses_total', 'gpufleet_router_model_loads_total'].map((n) =>
      metric(router.url, n),
    ),
  );
  await router.kill('SIGTERM');
  await Promise.all(standins.map((s: Proc) => s.kill()));
  const hits = h1 - h0;
  const misses = m1 - m0;
  const loads = l1 - l0;
  const loadMs = ((mean * GIB) / (gbps * 1e9)) * 1000;
  const lru = lruLoadsPer1000(
    trace,
    300,
    sizes,
    standins.map(() => budgetGiB),
  );
  return [
    label.padEnd(9),
    pad(f(loadMs, 0), 8),
    pad(String(requests), 8),
    pad(f((hits / (hits + misses)) * 100, 1) + '%', 8),
    pad(f((loads / requests) * 1000, 0), 9),
    pad(f(lru, 0), 9),
    pad(f(quantile(res.latenciesMs, 0.5), 1), 8),
    pad(f(quantile(res.latenciesMs, 0.99), 0), 8),
    pad(f(requests / res.seconds, 0), 7),
    pad(String(res.errors), 6),
  ].join(' ');
}

export async function run(): Promise<void> {
  try {
    for (const line of await overhead()) console.log(line);
    console.log('');
    console.log(
      'cache: Zipf(1.0) over 200 models (0.25-1.5 GiB), 2 backends with room for 20 average models, 16 clients, after 300 warm-up requests',
    );
    console.log(
      `${'copy'.padEnd(9)} ${pad('load ms', 8)} ${pad('requests', 8)} ${pad('hit rate', 8)} ${pad('loads/1k', 9)} ${pad('LRU sim', 9)} ` +
        `${pad('p50 ms', 8)} ${pad('p99 ms', 8)} ${pad('req/s', 7)} ${pad('errors', 6)}`,
    );
    console.log(await zipf('pinned', PINNED_GBPS, 3000));
    console.log(await zipf('pageable', PAGEABLE_GBPS, 1000));
    console.log('hit rate: requests that found their model loaded (a request arriving while its model loads counts as a miss);');
    console.log('loads/1k: loads per 1,000 requests; LRU sim: the same for a sequential LRU cache with instant loads on the same trace;');
    console.log('load ms: copy time of an average model at 53 GB/s pinned or 3.3 GB/s pageable; copies share one link per backend');
  } finally {
    await killAll();
  }
}
