/**
 * The router's admin port (`admin`, 127.0.0.1:9001 unless configured): its state and control endpoints, never on the
 * inference port.
 *
 * - `GET /router/state`: every backend (up, index, budget, used, loads, outstanding, models) and every model.
 * - `POST /v2/repository/index`: the managed models, READY when loaded on an up backend.
 * - `POST /v2/repository/models/{m}/load`: loads (pre-warms) a model as a request would.
 * - `POST /v2/repository/models/{m}/unload`: unloads it everywhere and answers once the backends report it gone.
 * - health, `GET /v2` and `GET /metrics` as on the inference port.
 */
import * as http from 'http';
import { GIB } from './config';
import type { Backend } from './backend';
import type { ModelCache } from './model-cache';
import { RouteError } from './model-cache';
import type { RouterMetrics } from './metrics';
import { sendError, sendJson } from './proxy';
import type { RouterConfig } from './config';
import type { BackendSync } from './backend-sync';
import type { Log } from './log';

/** What the admin port reads and drives of the router (`Router` is one; declared here so this file does not import router.ts). */
export interface AdminTarget {
  readonly cfg: RouterConfig;
  readonly cache: ModelCache;
  readonly sync: BackendSync;
  readonly ready: boolean;
  /** Answers the health, `GET /v2` and `GET /metrics` requests both ports serve; false for any other path. */
  serveCommon(method: string | undefined, path: string, res: http.ServerResponse): boolean;
}

export class RouterAdmin {
  readonly server: http.Server;

  constructor(
    private readonly router: AdminTarget,
    private readonly log: Log,
  ) {
    this.server = http.createServer({ keepAlive: true }, (req, res) => this.handle(req, res));
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (this.router.serveCommon(req.method, path, res)) return;
    if ((req.method === 'GET' || req.method === 'HEAD') && path === '/router/state') {
      sendJson(res, 200, this.state());
      return;
    }
    if (req.method === 'POST' && path === '/v2/repository/index') {
      sendJson(res, 200, this.repositoryIndex());
      return;
    }
    const m = /^\/v2\/repository\/models\/([^/%\\]+)\/(load|unload)$/.exec(path);
    if (req.method === 'POST' && m) {
      this.control(res, m[1], m[2] as 'load' | 'unload');
      return;
    }
    sendError(res, 404, `not found: ${req.method} ${path}`);
  }

  private control(res: http.ServerResponse, name: string, action: 'load' | 'unload'): void {
    const cache = this.router.cache;
    const ms = cache.models.get(name);
    if (!ms) {
      sendError(res, 404, `unknown model '${name}': the router does not manage it (not in its models list)`);
      return;
    }
    if (action === 'load') {
      cache.ensureLoaded(ms).then(
        () => res.writeHead(200, { 'content-length': 0 }).end(),
        (e: Error) =>
          sendError(res, e instanceof RouteError ? e.status : 500, e.message, e instanceof RouteError ? e.retryAfterSeconds : undefined),
      );
      return;
    }
    if (ms.cfg.pinned) {
      sendError(res, 400, `model '${name}' is pinned; remove pinned from its config to unload it`);
      return;
    }
    const cfg = this.router.cfg;
    const until = Date.now() + Math.max(cfg.unloadWaitSeconds, 1) * 1000;
    const holders = cache.backends.filter((b) => b.ready(name));
    Promise.all(
      holders.map(async (b) => {
        await cache.unload(b, name, 'manual', until);
        return cache.waitReleased(b, [name], until);
      }),
    ).then(
      (outcomes) => {
        if (outcomes.includes('timeout'))
          sendError(res, 504, `unload of '${name}' sent; not reported gone by every backend within ${cfg.unloadWaitSeconds}s`);
        else res.writeHead(200, { 'content-length': 0 }).end();
      },
      (e: Error) => sendError(res, 502, `unload of '${name}' failed: ${e.message}`),
    );
    this.log.info(`unload of ${name} requested on the admin port`);
  }

  private repositoryIndex(): unknown[] {
    const cache = this.router.cache;
    return [...cache.models.keys()].sort().map((name) => {
      const on = cache.backends.filter((b) => b.up && b.ready(name)).map((b) => b.name);
      return on.length > 0 ? { name, version: '1', state: 'READY' } : { name, version: '1', state: 'UNAVAILABLE', reason: 'unloaded' };
    });
  }

  /** A JSON snapshot for people on call: every backend with its models, every model with its homes. */
  state(): unknown {
    const cache = this.router.cache;
    const backends = cache.backends.map((b) => ({
      name: b.name,
      url: b.url,
      up: b.up,
      indexed: b.indexed,
      indexError: b.indexError,
      budgetGiB: b.budgetBytes / GIB,
      usedGiB: b.usedBytes / GIB,
      outstanding: b.outstanding,
      loadsRunning: b.loadsRunning,
      loadsQueued: b.loadsQueued,
      loadsOver: b.grpc ? 'grpc' : 'http',
      lastError: b.lastError,
      models: [...b.residents.entries()]
        .sort((x, y) => x[0].localeCompare(y[0]))
        .map(([name, r]) => ({ name, state: r.state, inFlight: r.inFlight, lastUsed: r.lastUsed })),
      unmanaged: this.router.sync.unmanaged.get(b.name) ?? [],
    }));
    const models = [...cache.models.values()].map((ms) => ({
      name: ms.cfg.name,
      memoryGiB: ms.cfg.memoryGiB,
      pinned: ms.cfg.pinned,
      loadedOn: cache.backends.filter((b) => b.up && b.ready(ms.cfg.name)).map((b) => b.name),
      loading: ms.loading !== undefined,
      waiting: ms.waiting,
      lastError: ms.lastError,
    }));
    return { ready: this.router.ready, backends, models };
  }
}

/** The gauges of `/metrics`, read from the cache at scrape time. */
export function registerGauges(metrics: RouterMetrics, cache: ModelCache): void {
  const bs = (): Backend[] => cache.backends;
  metrics.addGauge('gpufleet_router_backend_up', 'Whether the backend answered its last GET /v2/health/live.', ['backend'], () =>
    bs().map((b) => [[b.name], b.up ? 1 : 0]),
  );
  metrics.addGauge('gpufleet_router_backend_index_ok', "Whether the backend's last repository index read succeeded.", ['backend'], () =>
    bs().map((b) => [[b.name], b.up && b.indexed && !b.indexError ? 1 : 0]),
  );
  metrics.addGauge('gpufleet_router_backend_budget_bytes', 'GPU memory budget the router may fill on the backend.', ['backend'], () =>
    bs().map((b) => [[b.name], b.budgetBytes]),
  );
  metrics.addGauge('gpufleet_router_backend_used_bytes', 'Budget held by loaded, loading and unloading models.', ['backend'], () =>
    bs().map((b) => [[b.name], b.usedBytes]),
  );
  metrics.addGauge(
    'gpufleet_router_backend_outstanding_requests',
    'Requests forwarded to the backend and not yet answered.',
    ['backend'],
    () => bs().map((b) => [[b.name], b.outstanding]),
  );
  metrics.addGauge(
    'gpufleet_router_backend_loads',
    'Loads running on the backend, and loads waiting for one of its maxLoadsPerBackend slots.',
    ['backend', 'state'],
    () =>
      bs().flatMap((b): Array<[string[], number]> => [
        [[b.name, 'running'], b.loadsRunning],
        [[b.name, 'queued'], b.loadsQueued],
      ]),
  );
  metrics.addGauge('gpufleet_router_backend_models', 'Models held by the backend, by state.', ['backend', 'state'], () =>
    bs().flatMap((b) =>
      (['loading', 'ready', 'unloading'] as const).map((s): [string[], number] => [
        [b.name, s],
        [...b.residents.values()].filter((r) => r.state === s).length,
      ]),
    ),
  );
  metrics.addGauge('gpufleet_router_in_flight_requests', 'Requests forwarded and not yet answered, by model.', ['model'], () => {
    const by = new Map<string, number>();
    for (const b of bs()) for (const [m, r] of b.residents) if (r.inFlight > 0) by.set(m, (by.get(m) ?? 0) + r.inFlight);
    return [...by].map(([m, n]) => [[m], n]);
  });
  metrics.addGauge('gpufleet_router_queued_requests', 'Requests waiting for their model to load, by model.', ['model'], () =>
    [...cache.models.values()].filter((m) => m.waiting > 0).map((m) => [[m.cfg.name], m.waiting]),
  );
  metrics.addGauge('gpufleet_router_model_loaded', 'Backends holding the model ready.', ['model'], () =>
    [...cache.models.keys()].map((m) => [[m], bs().filter((b) => b.up && b.ready(m)).length]),
  );
}
