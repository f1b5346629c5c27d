/**
 * `gpufleet router --demo [--script]`: the router tried in a minute, without a GPU.
 *
 * Starts two Triton stand-ins (standin/, the Triton r25.08 behaviours of the router's tests: explicit model control,
 * loads over gRPC, unload answered before the model is destroyed, a load that does not fit failing as CUDA out of
 * memory) on 127.0.0.1 with ephemeral ports and a small GPU-memory budget, and the real router in front of them on
 * loopback, configured through `validateConfig` like any router. Nothing here steers the router or the stand-ins: the
 * demo only sends requests and reads what the router and Triton publish (`/metrics`, `/router/state`, Triton's
 * repository index).
 *
 * - Interactive (`--demo`): prints the URLs and curl lines to paste, logs the router's decisions on stderr, runs until
 *   SIGINT/SIGTERM, then stops everything.
 * - Scripted (`--demo --script`): sends `DEMO_SCRIPT` one request at a time and prints one line per request (cold load
 *   with its time, hit, eviction), then stops everything and resolves 0 (1 when a request was not answered 200).
 */
import * as http from 'http';
import { validateConfig } from './config';
import type { Log } from './log';
import { Router } from './router';
import { startTritonStandin, type RunningStandin } from './standin';

/** The demo's backends: Triton servers with this much GPU memory for models each. */
export const DEMO_BACKENDS = ['triton-0', 'triton-1'] as const;
export const DEMO_BACKEND_GIB = 4;

/** The demo's models and the GPU memory one loaded copy takes (GiB): together more than both backends hold. */
export const DEMO_MODELS: ReadonlyArray<{ readonly name: string; readonly memoryGiB: number }> = [
  { name: 'resnet50', memoryGiB: 1 },
  { name: 'bert-base', memoryGiB: 1.5 },
  { name: 'yolov8s', memoryGiB: 1.5 },
  { name: 'whisper-small', memoryGiB: 2 },
  { name: 'distilbert', memoryGiB: 2 },
];

/**
 * The scripted requests, one at a time. With the router's placement (most free budget, first backend on a tie) and
 * LRU eviction: resnet50 cold then hit; bert-base, yolov8s, whisper-small fill both backends; resnet50 is used again;
 * distilbert finds no room and evicts the least recently used model; the evicted model comes back with a cold load.
 */
export const DEMO_SCRIPT: readonly string[] = [
  'resnet50',
  'resnet50',
  'bert-base',
  'yolov8s',
  'whisper-small',
  'resnet50',
  'distilbert',
  'bert-base',
];

/**
 * How a stand-in load takes time: a fixed initialisation plus the host→GPU copy of the model's bytes from pinned host
 * memory over PCIe 4.0 x16 (about 25 GB/s; the stand-in runs copies on one link, one at a time), so a cold load shows
 * as about a tenth of a second beside a hit's milliseconds. Real loads of real models take longer (reading the files,
 * building the engine); the router's behaviour does not depend on it.
 */
const LOAD_INIT_MS = 50;
const LOAD_GBPS = 25;

const INFER_BODY = '{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}';

export interface DemoOptions {
  /** Send `DEMO_SCRIPT`, print what happened and stop. @default false (interactive: run until `stop`) */
  readonly script?: boolean;
  /** The router's inference port. @default - 127.0.0.1:9000 interactive, an ephemeral port scripted */
  readonly listen?: { readonly host: string; readonly port: number };
  /** The router's admin port. @default - 127.0.0.1:9001 interactive, an ephemeral port scripted */
  readonly admin?: { readonly host: string; readonly port: number };
  /** Where the demo's own lines go. @default - stdout */
  readonly out?: (text: string) => void;
  /** The router's log. */
  readonly log: Log;
  /** Interactive only: resolves when the demo should stop. @default - SIGINT or SIGTERM */
  readonly stop?: Promise<void>;
  /** Called once the router has read its backends, before any request (tests read the stand-ins' counters). */
  readonly onStarted?: (running: { readonly router: Router; readonly standins: readonly RunningStandin[] }) => void;
}

type Addr = { readonly host: string; readonly port: number };

const hostPort = (a: Addr): string => `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
const url = (a: Addr): string => `http://${hostPort(a)}`;
const gib = (n: number): string => `${n} GiB`;

/** Runs the demo; resolves with the exit code once every server it started is closed. */
export async function runRouterDemo(opts: DemoOptions): Promise<number> {
  const out = opts.out ?? ((t: string) => void process.stdout.write(t));
  const script = opts.script ?? false;
  const standins: RunningStandin[] = [];
  let router: Router | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  try {
    for (let i = 0; i < DEMO_BACKENDS.length; i++) {
      standins.push(
        await startTritonStandin({
          memoryGiB: DEMO_BACKEND_GIB,
          models: Object.fromEntries(DEMO_MODELS.map((m) => [m.name, m.memoryGiB])),
          loadDelayMs: LOAD_INIT_MS,
          loadGBps: LOAD_GBPS,
          grpcPort: 0,
        }),
      );
    }
    const listen = opts.listen ?? { host: '127.0.0.1', port: script ? 0 : 9000 };
    const admin = opts.admin ?? { host: '127.0.0.1', port: script ? 0 : 9001 };
    const cfg = validateConfig({
      listen: hostPort(listen),
      admin: hostPort(admin),
      backends: standins.map((s, i) => ({ name: DEMO_BACKENDS[i], url: s.url, grpcPort: s.grpcPort, memoryGiB: DEMO_BACKEND_GIB })),
      models: DEMO_MODELS,
    });
    router = new Router(cfg, opts.log);
    const addr = await router.start();
    const routerUrl = url(addr);
    const adminUrl = url(addr.admin!);
    await until(
      async () => (await call(agent, 'GET', `${routerUrl}/v2/health/ready`)).status === 200,
      10000,
      'the router did not read its backends within 10 s',
    );

    opts.onStarted?.({ router, standins });
    out(
      [
        `gpufleet router demo: ${DEMO_BACKENDS.length} stand-in Triton servers (Triton r25.08 behaviour, no GPU), ` +
          `${gib(DEMO_BACKEND_GIB)} of GPU memory for models each`,
        ...standins.map((s, i) => `  backend ${DEMO_BACKENDS[i]}  ${s.url}  (loads over gRPC on port ${s.grpcPort})`),
        `  router    ${routerUrl}  (admin ${adminUrl})`,
        `  models    ${DEMO_MODELS.map((m) => `${m.name} ${gib(m.memoryGiB)}`).join(', ')}`,
        '',
      ].join('\n') + '\n',
    );

    if (script) return await runScript(agent, routerUrl, adminUrl, standins, out);
    out(pasteLines(routerUrl, adminUrl, standins[DEMO_BACKENDS.length - 1].url));
    await (opts.stop ?? signalled());
    out('stopping the router and the stand-ins\n');
    return 0;
  } finally {
    agent.destroy();
    await router?.close(1000);
    await Promise.all(standins.map((s) => s.close()));
  }
}

/** The curl lines a user pastes in another terminal, in an order that shows a cold load, a hit and an eviction. */
function pasteLines(routerUrl: string, adminUrl: string, lastBackendUrl: string): string {
  // in the loop, the model name is a shell variable: double quotes there
  const curl = (model: string): string =>
    `curl -s -o /dev/null -w ${model === '$m' ? '"$m %{http_code} %{time_total}s\\n"' : "'%{http_code} %{time_total}s\\n'"} ` +
    `-X POST ${routerUrl}/v2/models/${model}/infer -H 'content-type: application/json' -d '${INFER_BODY}'`;
  const fill = DEMO_SCRIPT.slice(2, 5);
  return [
    'Paste these in another terminal (each prints the status and the time); the router logs what it does below.',
    '',
    '# a cold load: resnet50 is loaded nowhere, the router loads it first (about a tenth of a second)',
    curl('resnet50'),
    '# a hit: the same request again, served at once (a few milliseconds)',
    curl('resnet50'),
    `# fill both backends, then distilbert finds no room: the least recently used model is evicted (log: "unloading ... (evicted)")`,
    `for m in ${[...fill, 'distilbert'].join(' ')}; do ${curl('$m')}; done`,
    '# what the router holds, its counters, and what Triton itself reports (an evicted model: UNAVAILABLE, unloaded)',
    `curl -s ${adminUrl}/router/state`,
    `curl -s ${routerUrl}/metrics | grep -E '^gpufleet_router_(cache_hits|cache_misses|model_loads|model_unloads)_total'`,
    `curl -s -X POST ${lastBackendUrl}/v2/repository/index`,
    '',
    'Ctrl-C stops the router and the stand-ins.',
    '',
  ].join('\n');
}

/** Sends the script, one request at a time, and prints what each one did according to the router's own metrics. */
async function runScript(
  agent: http.Agent,
  routerUrl: string,
  adminUrl: string,
  standins: readonly RunningStandin[],
  out: (t: string) => void,
): Promise<number> {
  const width = Math.max(...DEMO_MODELS.map((m) => m.name.length));
  const tally = { cold: 0, hit: 0, evicted: 0, ok: 0 };
  const evictedAt = new Map<string, number>();
  let before = parseMetrics((await call(agent, 'GET', `${routerUrl}/metrics`)).body);
  for (const [i, model] of DEMO_SCRIPT.entries()) {
    const started = process.hrtime.bigint();
    const r = await call(agent, 'POST', `${routerUrl}/v2/models/${model}/infer`, INFER_BODY);
    const secs = Number(process.hrtime.bigint() - started) / 1e9;
    const after = parseMetrics((await call(agent, 'GET', `${routerUrl}/metrics`)).body);
    const delta = (name: string, match: Record<string, string>): Array<Record<string, string>> =>
      [...after.entries()]
        .filter(([k, v]) => k.startsWith(`${name}{`) && v > (before.get(k) ?? 0))
        .map(([k]) => labelsOf(k))
        .filter((l) => Object.entries(match).every(([n, v]) => l[n] === v));
    const step = `${String(i + 1).padStart(2)}. ${model.padEnd(width)}`;
    const timing = `${r.status} in ${secs.toFixed(3)} s`;
    let what: string;
    const loads = delta('gpufleet_router_model_loads_total', { model, result: 'success' });
    const evictions = delta('gpufleet_router_model_unloads_total', { reason: 'evicted' });
    if (delta('gpufleet_router_cache_misses_total', { model }).length > 0 && loads.length > 0) {
      tally.cold++;
      const ev = evictions.map((e) => `evicted ${e.model} from ${e.backend} (least recently used), then `).join('');
      const again = evictedAt.has(model) ? ` (evicted at step ${evictedAt.get(model)})` : '';
      what = `cold load  ${timing}  ${ev}loaded on ${loads[0].backend}${again}`;
      for (const e of evictions) {
        tally.evicted++;
        evictedAt.set(e.model, i + 1);
      }
    } else if (delta('gpufleet_router_cache_hits_total', { model }).length > 0) {
      tally.hit++;
      const state = JSON.parse((await call(agent, 'GET', `${adminUrl}/router/state`)).body) as {
        models: Array<{ name: string; loadedOn: string[] }>;
      };
      what = `hit        ${timing}  served by ${state.models.find((m) => m.name === model)?.loadedOn.join(', ')}, already loaded there`;
    } else {
      what = `not served ${timing}  ${r.body.trim()}`;
    }
    if (r.status === 200) tally.ok++;
    out(`${step}  ${what}\n`);
    for (const e of evictions) {
      // what Triton itself reports: the evicted model destroyed (UNAVAILABLE, unloaded) before the new one loaded
      const s = standins[DEMO_BACKENDS.indexOf(e.backend as (typeof DEMO_BACKENDS)[number])];
      const index = JSON.parse((await call(agent, 'POST', `${s.url}/v2/repository/index`, '{}')).body) as Array<{
        name: string;
        state?: string;
        reason?: string;
      }>;
      const listed = index.filter((m) => m.state !== undefined).map((m) => `${m.name} ${m.state}${m.reason ? ` (${m.reason})` : ''}`);
      out(`    Triton's repository index on ${e.backend}: ${listed.join(', ')}\n`);
    }
    before = after;
  }
  const n = DEMO_SCRIPT.length;
  out(
    [
      '',
      `${n} requests, ${tally.ok} answered 200: ${tally.cold} cold loads, ${tally.hit} hits, ` +
        `${tally.evicted} eviction${tally.evicted === 1 ? '' : 's'}`,
      "(from the router's /metrics: gpufleet_router_cache_misses_total, _cache_hits_total, _model_loads_total, _model_unloads_total)",
      '',
    ].join('\n'),
  );
  return tally.ok === n ? 0 : 1;
}

/** Prometheus text → series (`name{labels}`) → value. */
function parseMetrics(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const x = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$/.exec(line);
    if (x) m.set(x[1], Number(x[2]));
  }
  return m;
}

function labelsOf(series: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of series.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[l[1]] = l[2].replace(/\\(.)/g, '$1');
  return out;
}

function call(agent: http.Agent, method: string, target: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      target,
      {
        method,
        agent,
        headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function until(check: () => Promise<boolean>, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves on the first SIGINT or SIGTERM (Ctrl-C), and stops listening for them. */
function signalled(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
