/**
 * The router's HTTP server: Open Inference Protocol model requests are forwarded to a backend that
 * has the model loaded (loading it first when cold); health, metrics, a repository API view and a
 * state dump answer locally. Every request gets exactly one response.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import type { RouterConfig } from './config';
import { GIB } from './config';
import type { Backend, Resident } from './backend';
import { BackendSync } from './backend-sync';
import { ModelCache, ModelState, RouteError } from './model-cache';
import { RouterMetrics } from './metrics';
import { forward, sendError, sendJson, UNREACHABLE_CODES } from './proxy';
import type { Log } from './log';

const MODELS_PREFIX = '/v2/models/';
const REPO_MODELS_PREFIX = '/v2/repository/models/';
/** Metrics label for requests naming a model the router does not manage (bounded cardinality). */
const UNKNOWN_LABEL = '(unknown)';
/** Re-tries when a freshly loaded model was taken away before the waiting request got to it. */
const MAX_LOAD_ROUNDS = 3;

export const ROUTER_VERSION = '0.1.0';

export class Router {
  readonly metrics = new RouterMetrics();
  readonly cache: ModelCache;
  readonly sync: BackendSync;
  private readonly server: http.Server;
  private synced = false;
  private readonly requestTimeoutMs: number;

  constructor(readonly cfg: RouterConfig, private readonly log: Log) {
    this.cache = new ModelCache(cfg, this.metrics, log);
    this.sync = new BackendSync(cfg, this.cache, log);
    this.requestTimeoutMs = cfg.requestTimeoutSeconds * 1000;
    this.server = http.createServer({ keepAlive: true, noDelay: true }, (req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 65000;
    this.server.headersTimeout = 66000;
    this.server.requestTimeout = 0;
    this.registerGauges();
  }

  /** Binds, then reads every backend (adoption, pinned loads run on). Resolves with the bound address. */
  async start(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.cfg.port, this.cfg.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    this.sync
      .start()
      .then(() => {
        this.synced = true;
      })
      .catch((e: Error) => this.log.warn(`initial refresh failed: ${e.message}`));
    return { host: addr.address, port: addr.port };
  }

  /** Stops accepting, lets requests in flight finish (up to `graceMs`), then closes every connection. */
  async close(graceMs = 10000): Promise<void> {
    this.sync.stop();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    const busy = (): boolean => this.cache.backends.some((b) => b.outstanding > 0) || [...this.cache.models.values()].some((m) => m.waiting > 0);
    while (busy() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      this.server.closeIdleConnections();
    }
    this.server.closeAllConnections();
    await closed;
    for (const b of this.cache.backends) b.close();
  }

  /** Ready: the first index read finished and some backend is up. */
  get ready(): boolean {
    return this.synced && this.cache.backends.some((b) => b.up);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    if (url.startsWith(MODELS_PREFIX)) {
      this.handleModel(req, res, url);
      return;
    }
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method;
    req.resume(); // local endpoints ignore bodies
    if (method === 'GET' || method === 'HEAD') {
      switch (path) {
        case '/v2/health/live':
          res.writeHead(200, { 'content-length': 0 }).end();
          return;
        case '/v2/health/ready':
          if (this.ready) res.writeHead(200, { 'content-length': 0 }).end();
          else sendError(res, 503, this.synced ? 'no backend is up' : 'reading the backends\' repository indexes');
          return;
        case '/metrics': {
          const body = this.metrics.render();
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) });
          res.end(body);
          return;
        }
        case '/v2':
          sendJson(res, 200, { name: 'gpufleet-router', version: ROUTER_VERSION, extensions: ['model_repository'] });
          return;
        case '/router/state':
          sendJson(res, 200, this.state());
          return;
        default:
      }
    } else if (method === 'POST') {
      if (path === '/v2/repository/index') {
        sendJson(res, 200, this.repositoryIndex());
        return;
      }
      if (path.startsWith(REPO_MODELS_PREFIX)) {
        this.handleRepoModel(res, path);
        return;
      }
    }
    sendError(res, 404, `not found: ${method} ${path}`);
  }

  private handleModel(req: http.IncomingMessage, res: http.ServerResponse, url: string): void {
    let end = MODELS_PREFIX.length;
    while (end < url.length) {
      const c = url.charCodeAt(end);
      if (c === 47 /* / */ || c === 63 /* ? */) break;
      end++;
    }
    let name = url.slice(MODELS_PREFIX.length, end);
    if (name.includes('%')) {
      try {
        name = decodeURIComponent(name);
      } catch {
        // keep as is: not a known model
      }
    }
    const ms = this.cache.models.get(name);
    if (ms === undefined) {
      req.resume();
      this.metrics.requests.inc(UNKNOWN_LABEL, 404);
      sendError(res, 404, `unknown model '${name}': the router does not manage it (not in its models list)`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'HEAD') {
      req.resume();
      this.count(name, 405);
      sendError(res, 405, `method ${req.method} not allowed on ${MODELS_PREFIX}${name}`);
      return;
    }
    this.route(req, res, url, end, ms, undefined);
  }

  /**
   * Sends a model request to a backend holding the model, or waits for its load. `replay` is the body of a
   * request whose first attempt found a dead connection (it is sent again once, from memory).
   */
  private route(req: http.IncomingMessage, res: http.ServerResponse, url: string, end: number, ms: ModelState, replay: Buffer[] | undefined): void {
    const name = ms.cfg.name;
    const b = this.cache.pick(name);
    if (b !== undefined) {
      if (b.probing !== undefined) {
        // a connection to it just broke: wait for the check, then route again (re-homed if it is down)
        b.probing.then(() => (res.destroyed ? this.count(name, 499) : this.route(req, res, url, end, ms, replay)));
        return;
      }
      this.metrics.cacheHits.inc1(name);
      this.send(req, res, ms, b, replay, url, end);
      return;
    }
    // cold: a readiness probe answers for the router instead of loading the model
    const rest = url.slice(end);
    if (req.method === 'GET' && (rest === '/ready' || /^\/versions\/[^/]+\/ready$/.test(rest))) {
      req.resume();
      const canLoad = this.cache.backends.some((x) => x.up && x.budgetBytes >= ms.bytes);
      if (canLoad) {
        res.writeHead(200, { 'content-length': 0 }).end();
        this.count(name, 200);
      } else {
        this.count(name, 503);
        sendError(res, 503, `model '${name}' is not loaded and no backend able to hold it is up`, 5);
      }
      return;
    }
    if (ms.waiting >= this.cfg.maxQueuePerModel) {
      req.resume();
      this.count(name, 503);
      sendError(res, 503, `queue for model '${name}' is full (${this.cfg.maxQueuePerModel} requests waiting for it to load, maxQueuePerModel); retry later`, 1);
      return;
    }
    this.metrics.cacheMisses.inc1(name);
    this.waitAndSend(req, res, ms, 1, replay, url, end);
  }

  private waitAndSend(req: http.IncomingMessage, res: http.ServerResponse, ms: ModelState, round: number, replay: Buffer[] | undefined, url: string, end: number): void {
    const name = ms.cfg.name;
    ms.waiting++;
    this.cache.ensureLoaded(ms).then(
      () => {
        ms.waiting--;
        if (res.destroyed) {
          this.count(name, 499);
          return;
        }
        const b = this.cache.pick(name);
        if (b !== undefined) this.send(req, res, ms, b, replay, url, end);
        else if (round < MAX_LOAD_ROUNDS) this.waitAndSend(req, res, ms, round + 1, replay, url, end);
        else this.fail(req, res, name, new RouteError(503, `model '${name}' was unloaded again before the request could be forwarded; retry`, 1));
      },
      (e: Error) => {
        ms.waiting--;
        this.fail(req, res, name, e);
      },
    );
  }

  private fail(req: http.IncomingMessage, res: http.ServerResponse, name: string, e: Error): void {
    req.resume();
    if (res.destroyed) {
      this.count(name, 499);
      return;
    }
    const status = e instanceof RouteError ? e.status : 500;
    if (!(e instanceof RouteError)) this.log.warn(`internal error for ${name}: ${e.stack ?? e.message}`);
    this.count(name, status);
    sendError(res, status, e.message, e instanceof RouteError ? e.retryAfterSeconds : undefined);
  }

  private send(req: http.IncomingMessage, res: http.ServerResponse, ms: ModelState, b: Backend, replay: Buffer[] | undefined, url: string, end: number): void {
    const name = ms.cfg.name;
    const r: Resident = this.cache.acquire(name, b);
    forward(req, res, b, this.requestTimeoutMs, replay, {
      // a first attempt that found a dead connection is routed once more, from the body kept in memory
      retry: replay !== undefined ? undefined : (body) => {
        this.cache.release(b, r);
        this.route(req, res, url, end, ms, body);
      },
      done: (status) => {
        this.cache.release(b, r);
        this.count(name, status);
        // Triton answers 400 for a model it does not have: check whether it was unloaded behind our back
        if (status === 400) this.sync.recheck(b);
      },
      backendError: (code) => {
        if (UNREACHABLE_CODES.has(code)) this.cache.markDown(b, code);
        else if (code !== 'ETIMEDOUT_REQUEST') this.sync.probe(b);
        b.dropIdleSockets();
      },
    });
  }

  private count(name: string, status: number): void {
    this.metrics.requests.inc(name, status);
  }

  /** `POST /v2/repository/models/{name}/load|unload` on the router: pre-warm or drop a model. */
  private handleRepoModel(res: http.ServerResponse, path: string): void {
    const m = /^\/v2\/repository\/models\/([^/]+)\/(load|unload)$/.exec(path);
    if (!m) {
      sendError(res, 404, `not found: POST ${path}`);
      return;
    }
    const name = decodeURIComponent(m[1]);
    const ms = this.cache.models.get(name);
    if (!ms) {
      sendError(res, 404, `unknown model '${name}': the router does not manage it (not in its models list)`);
      return;
    }
    if (m[2] === 'load') {
      this.cache.ensureLoaded(ms).then(
        () => res.writeHead(200, { 'content-length': 0 }).end(),
        (e: Error) => sendError(res, e instanceof RouteError ? e.status : 500, e.message),
      );
      return;
    }
    if (ms.cfg.pinned) {
      sendError(res, 400, `model '${name}' is pinned; remove pinned from its config to unload it`);
      return;
    }
    const holders = this.cache.backends.filter((b) => b.ready(name));
    Promise.all(holders.map((b) => this.cache.unload(b, name, 'manual', Date.now() + this.cfg.loadTimeoutSeconds * 1000))).then(
      () => res.writeHead(200, { 'content-length': 0 }).end(),
      (e: Error) => sendError(res, 502, `unload of '${name}' failed: ${e.message}`),
    );
  }

  private repositoryIndex(): unknown[] {
    return [...this.cache.models.keys()].sort().map((name) => {
      const on = this.cache.backends.filter((b) => b.up && b.ready(name)).map((b) => b.name);
      return on.length > 0 ? { name, version: '1', state: 'READY', reason: '' } : { name, version: '1', state: 'UNAVAILABLE', reason: 'unloaded' };
    });
  }

  /** A JSON snapshot for people on call: every backend with its models, every model with its homes. */
  state(): unknown {
    const backends = this.cache.backends.map((b) => ({
      name: b.name,
      url: b.url,
      up: b.up,
      budgetGiB: b.budgetBytes / GIB,
      usedGiB: b.usedBytes / GIB,
      outstanding: b.outstanding,
      lastError: b.lastError,
      models: [...b.residents.entries()].sort((x, y) => x[0].localeCompare(y[0])).map(([name, r]) => ({ name, state: r.state, inFlight: r.inFlight, lastUsed: r.lastUsed })),
      unmanaged: this.sync.unmanaged.get(b.name) ?? [],
    }));
    const models = [...this.cache.models.values()].map((ms) => ({
      name: ms.cfg.name,
      memoryGiB: ms.cfg.memoryGiB,
      pinned: ms.cfg.pinned,
      loadedOn: this.cache.backends.filter((b) => b.up && b.ready(ms.cfg.name)).map((b) => b.name),
      loading: ms.loading !== undefined,
      waiting: ms.waiting,
      lastError: ms.lastError,
    }));
    return { ready: this.ready, backends, models };
  }

  private registerGauges(): void {
    const bs = (): Backend[] => this.cache.backends;
    this.metrics.addGauge('gpufleet_router_backend_up', 'Whether the backend answered its last repository index read.', ['backend'], () => bs().map((b) => [[b.name], b.up ? 1 : 0]));
    this.metrics.addGauge('gpufleet_router_backend_budget_bytes', 'GPU memory budget the router may fill on the backend.', ['backend'], () => bs().map((b) => [[b.name], b.budgetBytes]));
    this.metrics.addGauge('gpufleet_router_backend_used_bytes', 'Budget held by loaded, loading and unloading models.', ['backend'], () => bs().map((b) => [[b.name], b.usedBytes]));
    this.metrics.addGauge('gpufleet_router_backend_outstanding_requests', 'Requests forwarded to the backend and not yet answered.', ['backend'], () => bs().map((b) => [[b.name], b.outstanding]));
    this.metrics.addGauge('gpufleet_router_backend_models', 'Models held by the backend, by state.', ['backend', 'state'], () =>
      bs().flatMap((b) => (['loading', 'ready', 'unloading'] as const).map((s): [string[], number] => [[b.name, s], [...b.residents.values()].filter((r) => r.state === s).length])),
    );
    this.metrics.addGauge('gpufleet_router_in_flight_requests', 'Requests forwarded and not yet answered, by model.', ['model'], () => {
      const by = new Map<string, number>();
      for (const b of bs()) for (const [m, r] of b.residents) if (r.inFlight > 0) by.set(m, (by.get(m) ?? 0) + r.inFlight);
      return [...by].map(([m, n]) => [[m], n]);
    });
    this.metrics.addGauge('gpufleet_router_queued_requests', 'Requests waiting for their model to load, by model.', ['model'], () =>
      [...this.cache.models.values()].filter((m) => m.waiting > 0).map((m) => [[m.cfg.name], m.waiting]),
    );
    this.metrics.addGauge('gpufleet_router_model_loaded', 'Backends holding the model ready.', ['model'], () =>
      [...this.cache.models.keys()].map((m) => [[m], bs().filter((b) => b.up && b.ready(m)).length]),
    );
  }
}
