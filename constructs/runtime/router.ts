/**
 * The router's HTTP servers.
 *
 * - The **inference port** (`listen`) serves the Open Inference Protocol only: `POST /v2/models/{m}[/versions/{v}]/infer`,
 *   `GET /v2/models/{m}[/versions/{v}]` (metadata) and `.../ready`, forwarded to a backend that has the model loaded
 *   (loading it first when cold); plus the router's own health, `GET /v2` and `GET /metrics`. Every other path is 404,
 *   so Triton's repository, config, statistics, trace and logging endpoints can never be reached through it, and a path
 *   with a dot segment, an empty segment, a backslash or any percent-encoding is refused before it is looked at.
 * - The **admin port** (`admin`, loopback by default) serves the router's state and control endpoints.
 *
 * Every request gets exactly one response.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import type { RouterConfig } from './config';
import type { Backend, Resident } from './backend';
import { BackendSync } from './backend-sync';
import { ModelCache, ModelState, RouteError } from './model-cache';
import { RouterMetrics } from './metrics';
import { forward, sendError, sendJson, UNREACHABLE_CODES } from './proxy';
import { RouterAdmin, registerGauges } from './router-admin';
import type { Log } from './log';

/** Metrics label for requests naming a model the router does not manage, or no valid path (bounded cardinality). */
const UNKNOWN_LABEL = '(unknown)';
/** Re-tries when a freshly loaded model was taken away before the waiting request got to it. */
const MAX_LOAD_ROUNDS = 3;
/** The inference paths the router forwards; the model name and version are plain path segments. */
const MODEL_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([0-9]+))?(\/infer|\/ready)?$/;
/** Dot segments, empty segments, backslashes and percent-encoding: refused in any path of the inference port. */
const UNSAFE_PATH = /%|\\|\/\/|\/\.\.?(?:\/|$)/;
/** Triton's answers for a model that is not loaded there (core r25.08 `model_lifecycle.cc` GetModel). */
const GONE = /'[^']*' (?:is not found|has no available versions)$|' version [0-9]+ is not at ready state$/;
/** Triton's answer for a version it does not have: the model may be loaded (another version) or not. */
const NO_SUCH_VERSION = /' version [0-9]+ is not found$/;

export const ROUTER_VERSION = '0.1.0';

type Kind = 'infer' | 'metadata' | 'ready';

export class Router {
  readonly metrics = new RouterMetrics();
  readonly cache: ModelCache;
  readonly sync: BackendSync;
  private readonly server: http.Server;
  private readonly admin?: RouterAdmin;
  synced = false;
  private readonly requestTimeoutMs: number;

  constructor(
    readonly cfg: RouterConfig,
    private readonly log: Log,
  ) {
    this.cache = new ModelCache(cfg, this.metrics, log);
    this.sync = new BackendSync(cfg, this.cache, this.metrics, log);
    this.requestTimeoutMs = cfg.requestTimeoutSeconds * 1000;
    this.server = http.createServer({ keepAlive: true, noDelay: true }, (req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 65000;
    this.server.headersTimeout = 66000;
    this.server.requestTimeout = 0;
    if (cfg.admin) this.admin = new RouterAdmin(this, log);
    registerGauges(this.metrics, this.cache);
  }

  /**
   * Binds the inference port (and the admin port), then reads every backend (adoption, pinned loads run on).
   * Resolves with the bound addresses.
   */
  async start(): Promise<{ host: string; port: number; admin?: { host: string; port: number } }> {
    const addr = await listen(this.server, this.cfg.port, this.cfg.host);
    let admin: { host: string; port: number } | undefined;
    if (this.admin && this.cfg.admin) {
      try {
        admin = await listen(this.admin.server, this.cfg.admin.port, this.cfg.admin.host);
      } catch (e) {
        this.server.close();
        throw Object.assign(e as Error, { listen: 'admin' });
      }
    }
    this.sync
      .start()
      .then(() => {
        this.synced = true;
      })
      .catch((e: Error) => this.log.warn(`initial refresh failed: ${e.message}`));
    return { ...addr, ...(admin ? { admin } : {}) };
  }

  /** Stops accepting, lets requests in flight finish (up to `graceMs`), then closes every connection. */
  async close(graceMs = 10000): Promise<void> {
    this.sync.stop();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.admin?.close();
    this.server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    const busy = (): boolean =>
      this.cache.backends.some((b) => b.outstanding > 0) || [...this.cache.models.values()].some((m) => m.waiting > 0);
    while (busy() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      this.server.closeIdleConnections();
    }
    this.server.closeAllConnections();
    await closed;
    for (const b of this.cache.backends) b.close();
  }

  /**
   * Ready once the first refresh finished, whether or not a backend is up: with every backend down (a cache pool
   * scaled to zero) the router must still take requests, answer them 503 + Retry-After and count them; that demand
   * is what wakes the pool (`routerWakeQuery`). Whether backends are up is in `/metrics` and `/router/state`.
   */
  get ready(): boolean {
    return this.synced;
  }

  /** Health, `/v2`, `/metrics`: answered on both ports. True when `path` was one of them. */
  serveCommon(method: string | undefined, path: string, res: http.ServerResponse): boolean {
    if (method !== 'GET' && method !== 'HEAD') return false;
    switch (path) {
      case '/v2/health/live':
        res.writeHead(200, { 'content-length': 0 }).end();
        return true;
      case '/v2/health/ready':
        if (this.ready) res.writeHead(200, { 'content-length': 0 }).end();
        else sendError(res, 503, 'reading the backends');
        return true;
      case '/metrics': {
        const body = this.metrics.render();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return true;
      }
      case '/v2':
        sendJson(res, 200, { name: 'gpufleet-router', version: ROUTER_VERSION, extensions: [] });
        return true;
      default:
        return false;
    }
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const m = UNSAFE_PATH.test(path) ? null : MODEL_PATH.exec(path);
    if (m === null) {
      req.resume(); // local endpoints ignore bodies
      if (!UNSAFE_PATH.test(path) && this.serveCommon(req.method, path, res)) return;
      if (path.startsWith('/v2/models/')) this.metrics.requests.inc(UNKNOWN_LABEL, 404);
      sendError(res, 404, `not found: ${req.method} ${path}`);
      return;
    }
    const name = m[1];
    const ms = this.cache.models.get(name);
    if (ms === undefined) {
      req.resume();
      this.metrics.requests.inc(UNKNOWN_LABEL, 404);
      sendError(res, 404, `unknown model '${name}': the router does not manage it (not in its models list)`);
      return;
    }
    const kind: Kind = m[3] === '/infer' ? 'infer' : m[3] === '/ready' ? 'ready' : 'metadata';
    const allowed = kind === 'infer' ? req.method === 'POST' : req.method === 'GET' || req.method === 'HEAD';
    if (!allowed) {
      req.resume();
      this.count(name, 405);
      sendError(res, 405, `method ${req.method} not allowed on ${path}`);
      return;
    }
    this.route(req, res, kind, ms, undefined, 1);
  }

  /**
   * Sends a model request to a backend holding the model, or waits for its load. `replay` is the body of a request
   * sent before (after a dead connection, or an answer that the model is not loaded there): it is sent once more,
   * from memory (`attempt` 2), never a third time.
   */
  private route(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    kind: Kind,
    ms: ModelState,
    replay: Buffer[] | undefined,
    attempt: number,
  ): void {
    const name = ms.cfg.name;
    const b = this.cache.pick(name);
    if (b !== undefined) {
      if (b.probing !== undefined) {
        // a connection to it just broke: wait for the check, then route again (re-homed if it is down)
        void b.probing.then(() => (res.destroyed ? this.count(name, 499) : this.route(req, res, kind, ms, replay, attempt)));
        return;
      }
      this.metrics.cacheHits.inc1(name);
      this.send(req, res, kind, ms, b, replay, attempt);
      return;
    }
    // cold: a readiness probe answers for the router instead of loading the model
    if (kind === 'ready') {
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
      sendError(
        res,
        503,
        `queue for model '${name}' is full (${this.cfg.maxQueuePerModel} requests waiting for it to load, maxQueuePerModel); retry later`,
        1,
      );
      return;
    }
    this.metrics.cacheMisses.inc1(name);
    this.waitAndSend(req, res, kind, ms, 1, replay, attempt);
  }

  private waitAndSend(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    kind: Kind,
    ms: ModelState,
    round: number,
    replay: Buffer[] | undefined,
    attempt: number,
  ): void {
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
        if (b !== undefined) this.send(req, res, kind, ms, b, replay, attempt);
        else if (round < MAX_LOAD_ROUNDS) this.waitAndSend(req, res, kind, ms, round + 1, replay, attempt);
        else
          this.fail(
            req,
            res,
            name,
            new RouteError(503, `model '${name}' was unloaded again before the request could be forwarded; retry`, 1),
          );
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

  private send(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    kind: Kind,
    ms: ModelState,
    b: Backend,
    replay: Buffer[] | undefined,
    attempt: number,
  ): void {
    const name = ms.cfg.name;
    const r: Resident = this.cache.acquire(name, b);
    forward(req, res, b, this.requestTimeoutMs, replay, {
      // a first attempt that found a dead connection is routed once more, from the body kept in memory
      retry:
        attempt > 1
          ? undefined
          : (body) => {
              this.cache.release(b, r);
              this.route(req, res, kind, ms, body, attempt + 1);
            },
      done: (status) => {
        this.cache.release(b, r);
        this.count(name, status);
      },
      backendError: (code) => {
        if (UNREACHABLE_CODES.has(code)) this.cache.markDown(b, code);
        else if (code !== 'ETIMEDOUT_REQUEST') this.sync.probe(b);
        b.dropIdleSockets();
      },
      // Triton answers 404 (503 for a given version, 400 for readiness) when the model is not loaded there: it was
      // unloaded behind the router's back. The router stops sending it there and, holding the body, routes the request
      // once more (it loads the model again); otherwise the answer passes through.
      notLoaded: (status, body, held) => {
        const verdict = notLoadedVerdict(status, body, req.url!.includes('/versions/'));
        if (verdict === 'ambiguous') this.sync.recheck(b);
        if (verdict !== 'gone') return false;
        this.cache.notLoadedHere(b, name);
        if (attempt > 1 || held === undefined) return false;
        this.cache.release(b, r);
        this.route(req, res, kind, ms, held, attempt + 1);
        return true;
      },
    });
  }

  count(name: string, status: number): void {
    this.metrics.requests.inc(name, status);
  }
}

/**
 * `gone`: Triton says the model is not loaded there; `ambiguous`: it may only lack the version asked for (the index
 * is read again to find out).
 */
function notLoadedVerdict(status: number, body: Buffer, versioned: boolean): 'gone' | 'ambiguous' | undefined {
  let msg: unknown;
  try {
    msg = (JSON.parse(body.toString('utf8')) as { error?: unknown } | null)?.error;
  } catch {
    return undefined;
  }
  if (typeof msg !== 'string') return undefined;
  if (status === 400 && msg === 'Model version not ready') return versioned ? 'ambiguous' : 'gone';
  if (GONE.test(msg)) return 'gone';
  if (status === 404 && NO_SUCH_VERSION.test(msg)) return 'ambiguous';
  return undefined;
}

function listen(server: http.Server, port: number, host: string): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      resolve({ host: a.address, port: a.port });
    });
  });
}
