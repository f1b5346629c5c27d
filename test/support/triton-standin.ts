/**
 * A stand-in for Triton Inference Server's HTTP endpoint in `--model-control-mode=explicit`, with the
 * request and response shapes of Triton's documented API (KServe v2 / Open Inference Protocol and the
 * model repository extension):
 *
 * - `GET /v2/health/live`, `GET /v2/health/ready` → 200
 * - `POST /v2/repository/index` → `[{name, version, state: "READY"|"UNAVAILABLE", reason}]`
 *   (models never loaded are listed by name only, as Triton does)
 * - `POST /v2/repository/models/{name}/load` → 200 once loaded (after a load delay: fixed + size / bandwidth,
 *   loads copy one at a time like a shared PCIe link); 400 `{"error": ...}` beyond the memory budget or for a
 *   model not in the repository
 * - `POST /v2/repository/models/{name}/unload` → 200
 * - `POST /v2/models/{name}[/versions/{v}]/infer` → `{model_name, model_version, id?, outputs: [...]}` after a delay;
 *   400 `{"error": "Request for unknown model: ..."}` when the model is not loaded
 * - `GET /v2/models/{name}[/versions/{v}]` (metadata), `GET .../ready` → 200, or 400 when not loaded
 * - `GET /_standin/stats` (not Triton): counters for tests
 *
 * Run as a process: `node -r ts-node/register/transpile-only test/support/triton-standin.ts '<options JSON>'`;
 * it prints `listening on http://HOST:PORT`.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface StandinOptions {
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** GPU memory the models may take, in GiB. @default 16 */
  readonly memoryGiB?: number;
  /** The model repository: model name → GiB one loaded copy takes. @default {} */
  readonly models?: Readonly<Record<string, number>>;
  /** When set, any model name is in the repository with this size. @default - only `models` */
  readonly defaultModelGiB?: number;
  /** Fixed part of every load, ms. @default 0 */
  readonly loadDelayMs?: number;
  /** Host→GPU copy bandwidth in GB/s (10^9 bytes); adds size / bandwidth to each load. @default - none */
  readonly loadGBps?: number;
  /** Extra load delay per model, ms (e.g. a load that hangs). @default {} */
  readonly loadDelayMsByModel?: Readonly<Record<string, number>>;
  /** Models whose load fails with a Triton-like error. @default [] */
  readonly failLoads?: readonly string[];
  /** Delay of each infer answer, ms. @default 0 */
  readonly inferDelayMs?: number;
  /** Delay of infer answers per model, ms (overrides `inferDelayMs`). @default {} */
  readonly inferDelayMsByModel?: Readonly<Record<string, number>>;
  /** Models whose infer requests get their connection closed without an answer (a crashing backend). @default [] */
  readonly resetInfer?: readonly string[];
  /** Models loaded at start. @default [] */
  readonly loaded?: readonly string[];
}

export interface StandinStats {
  loads: number;
  failedLoads: number;
  unloads: number;
  infers: number;
  loadsByModel: Record<string, number>;
  infersByModel: Record<string, number>;
  loaded: string[];
  usedGiB: number;
  maxUsedGiB: number;
  /** Requests that named a model that was not loaded. */
  notLoaded: number;
}

const GIB = 1024 * 1024 * 1024;

export interface RunningStandin {
  readonly url: string;
  readonly port: number;
  readonly stats: StandinStats;
  close(): Promise<void>;
}

export function startTritonStandin(opts: StandinOptions = {}): Promise<RunningStandin> {
  const budget = opts.memoryGiB ?? 16;
  const repo = new Map(Object.entries(opts.models ?? {}));
  const sizeOf = (m: string): number | undefined => repo.get(m) ?? opts.defaultModelGiB;
  const loaded = new Map<string, number>(); // name → GiB
  const everUnloaded = new Set<string>();
  type LoadResult = 200 | { error: string };
  const loading = new Map<string, Promise<LoadResult>>();
  let copyChain: Promise<void> = Promise.resolve();
  let used = 0;
  const stats: StandinStats = { loads: 0, failedLoads: 0, unloads: 0, infers: 0, loadsByModel: {}, infersByModel: {}, loaded: [], usedGiB: 0, maxUsedGiB: 0, notLoaded: 0 };
  const failing = new Set(opts.failLoads ?? []);
  const inferDelay = opts.inferDelayMs ?? 0;

  for (const m of opts.loaded ?? []) {
    const gib = sizeOf(m) ?? 0;
    loaded.set(m, gib);
    used += gib;
  }

  const json = (res: http.ServerResponse, status: number, value: unknown): void => {
    const body = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const empty = (res: http.ServerResponse, status = 200): void => {
    res.writeHead(status, { 'content-length': 0 });
    res.end();
  };
  const unknownModel = (res: http.ServerResponse, name: string): void => {
    stats.notLoaded++;
    json(res, 400, { error: `Request for unknown model: '${name}' is not found` });
  };

  const load = (name: string): Promise<LoadResult> => {
    const gib = sizeOf(name);
    if (gib === undefined) {
      return Promise.resolve({ error: `failed to load '${name}', failed to poll from model repository` });
    }
    if (loaded.has(name)) return Promise.resolve(200);
    const pending = loading.get(name);
    if (pending) return pending;
    if (used + gib > budget + 1e-9) {
      stats.failedLoads++;
      return Promise.resolve({
        error: `load failed for model '${name}': version 1 is at UNAVAILABLE state: Internal: onnx runtime error 6: CUDA failure 2: out of memory ; GPU memory budget ${budget} GiB, ${Math.round(used * 100) / 100} GiB in use, model needs ${gib} GiB`,
      });
    }
    used += gib;
    // the copy (fixed + size / bandwidth) shares one link: one at a time; a model's extra init delay runs beside it
    const copy = (opts.loadDelayMs ?? 0) + (opts.loadGBps ? ((gib * GIB) / (opts.loadGBps * 1e9)) * 1000 : 0);
    const extra = opts.loadDelayMsByModel?.[name] ?? 0;
    const p = new Promise<void>((resolve) => {
      copyChain = copyChain.then(() => new Promise<void>((r) => setTimeout(r, copy))).then(resolve);
    }).then(() => new Promise<void>((r) => setTimeout(r, extra))).then((): LoadResult => {
      loading.delete(name);
      if (failing.has(name)) {
        used -= gib;
        stats.failedLoads++;
        return { error: `load failed for model '${name}': version 1 is at UNAVAILABLE state: Internal: failed to load model file model.onnx: protobuf parsing failed` };
      }
      loaded.set(name, gib);
      everUnloaded.delete(name);
      stats.loads++;
      stats.loadsByModel[name] = (stats.loadsByModel[name] ?? 0) + 1;
      stats.maxUsedGiB = Math.max(stats.maxUsedGiB, used);
      return 200;
    });
    loading.set(name, p);
    return p;
  };

  const server = http.createServer({ keepAlive: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      const path = url.split('?')[0];
      const method = req.method;
      if (method === 'GET' && (path === '/v2/health/live' || path === '/v2/health/ready')) return empty(res);
      if (method === 'GET' && path === '/v2') return json(res, 200, { name: 'triton', version: '2.50.0', extensions: ['model_repository'] });
      if (method === 'GET' && path === '/_standin/stats') {
        stats.loaded = [...loaded.keys()].sort();
        stats.usedGiB = used;
        return json(res, 200, stats);
      }
      if (method === 'POST' && path === '/v2/repository/index') {
        let ready = false;
        try {
          ready = chunks.length > 0 && JSON.parse(Buffer.concat(chunks).toString()).ready === true;
        } catch {
          return json(res, 400, { error: 'failed to parse the request JSON buffer' });
        }
        const names = new Set<string>([...repo.keys(), ...loaded.keys(), ...everUnloaded]);
        const out = [...names].sort().flatMap((n) => {
          if (loaded.has(n)) return [{ name: n, version: '1', state: 'READY' }];
          if (ready) return [];
          if (everUnloaded.has(n)) return [{ name: n, version: '1', state: 'UNAVAILABLE', reason: 'unloaded' }];
          return [{ name: n }];
        });
        return json(res, 200, out);
      }
      const rm = /^\/v2\/repository\/models\/([^/]+)\/(load|unload)$/.exec(path);
      if (method === 'POST' && rm) {
        const name = decodeURIComponent(rm[1]);
        if (rm[2] === 'load') {
          load(name).then((r) => (r === 200 ? empty(res) : json(res, 400, r)));
          return;
        }
        if (sizeOf(name) === undefined && !loaded.has(name)) return json(res, 400, { error: `failed to unload '${name}', no version is available` });
        const gib = loaded.get(name);
        if (gib !== undefined) {
          loaded.delete(name);
          used -= gib;
          everUnloaded.add(name);
          stats.unloads++;
        }
        return empty(res);
      }
      const mm = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/infer|\/ready)?$/.exec(path);
      if (mm) {
        const name = decodeURIComponent(mm[1]);
        const version = mm[2] ?? '1';
        const what = mm[3] ?? '';
        if (what === '/infer' && method === 'POST') {
          if (!loaded.has(name)) return unknownModel(res, name);
          if (opts.resetInfer?.includes(name)) {
            req.socket.destroy();
            return;
          }
          let body: { id?: string; inputs?: Array<{ name: string; shape: number[]; datatype: string; data: unknown }> };
          try {
            body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
          } catch {
            return json(res, 400, { error: 'failed to parse the request JSON buffer: Invalid value.' });
          }
          if (!Array.isArray(body.inputs)) return json(res, 400, { error: "Unable to find 'inputs' in JSON request" });
          stats.infers++;
          stats.infersByModel[name] = (stats.infersByModel[name] ?? 0) + 1;
          const first = body.inputs[0];
          const answer = {
            model_name: name,
            model_version: version,
            ...(body.id !== undefined ? { id: body.id } : {}),
            outputs: [{ name: 'OUTPUT0', datatype: first?.datatype ?? 'FP32', shape: first?.shape ?? [0], data: first?.data ?? [] }],
          };
          const delay = opts.inferDelayMsByModel?.[name] ?? inferDelay;
          if (delay > 0) setTimeout(() => json(res, 200, answer), delay);
          else json(res, 200, answer);
          return;
        }
        if (what === '/ready' && method === 'GET') return loaded.has(name) ? empty(res) : empty(res, 400);
        if (what === '' && method === 'GET') {
          if (!loaded.has(name)) return unknownModel(res, name);
          return json(res, 200, {
            name,
            versions: ['1'],
            platform: 'onnxruntime_onnx',
            inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1, 4] }],
            outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [-1, 4] }],
          });
        }
      }
      return json(res, 404, { error: 'Not Found' });
    });
  });
  server.keepAliveTimeout = 65000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
        port,
        stats,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}

if (require.main === module) {
  let opts: StandinOptions;
  try {
    opts = JSON.parse(process.argv[2] ?? '{}');
  } catch (e) {
    process.stderr.write(`triton-standin: options: expected JSON, got ${JSON.stringify(process.argv[2])}\n`);
    process.exit(2);
  }
  startTritonStandin(opts).then(
    (s) => process.stdout.write(`listening on ${s.url}\n`),
    (e: Error) => {
      process.stderr.write(`triton-standin: ${e.message}\n`);
      process.exit(1);
    },
  );
}
