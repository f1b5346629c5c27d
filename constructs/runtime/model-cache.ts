/**
 * Where each model is loaded, and how a cold model gets a seat: pick a backend with free budget, else
 * unload the least recently used models that have nothing in flight and are not pinned, wait until the backend
 * reports them destroyed (their GPU memory is free only then), then load. Concurrent requests for one cold model
 * share one load; each backend runs at most `maxLoadsPerBackend` loads at once.
 */
import type { ModelConfig, RouterConfig } from './config';
import { GIB } from './config';
import { Backend, BackendUnreachable, Resident, tritonMessage } from './backend';
import { GRPC_STATUS_NAMES, GrpcUnreachable } from './grpc-repository';
import type { RouterMetrics } from './metrics';
import type { Log } from './log';

/** A request-level failure with the HTTP status the client gets. */
export class RouteError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export interface ModelState {
  readonly cfg: ModelConfig;
  readonly bytes: number;
  /** The load in progress, shared by every request waiting for it. */
  loading?: Promise<void>;
  /** Requests waiting for a load. */
  waiting: number;
  /** Last load failure (for `/router/state`). */
  lastError: string;
  /** After a backend refused to load the model: its error, repeated without asking again until `failedUntil`. */
  failure?: RouteError;
  failedUntil: number;
}

interface Placement {
  readonly backend: Backend;
  readonly victims: readonly string[];
}

/** The answer of a load call, over HTTP or gRPC. */
interface LoadReply {
  readonly ok: boolean;
  /** `HTTP 400` or `gRPC INVALID_ARGUMENT`. */
  readonly code: string;
  readonly message: string;
}

/** Upper bound of one load call on the wire (the router stops waiting after loadTimeoutSeconds, the call goes on). */
const LOAD_CALL_LIMIT_MS = 30 * 60 * 1000;
/** A resident whose state change is under way (an unload sent, no answer yet): index reads do not touch it. */
const PENDING = Number.POSITIVE_INFINITY;
/** Index states of a model version that still holds GPU memory without serving. */
const HELD = new Set(['LOADING', 'UNLOADING']);

const fmtGiB = (bytes: number): string => `${Math.round((bytes / GIB) * 100) / 100} GiB`;

export class ModelCache {
  readonly models = new Map<string, ModelState>();
  backends: Backend[] = [];
  /** Called when a backend gets a resident `unloading` (the sync polls its index until it is gone). */
  onUnloading: (b: Backend) => void = () => undefined;
  /** Logical clock for LRU order. */
  private clock = 0;
  private roomWaiters: Array<() => void> = [];
  private readonly loadTimeoutMs: number;

  constructor(
    private readonly cfg: RouterConfig,
    private readonly metrics: RouterMetrics,
    private readonly log: Log,
  ) {
    this.loadTimeoutMs = cfg.loadTimeoutSeconds * 1000;
    for (const m of cfg.models)
      this.models.set(m.name, { cfg: m, bytes: Math.round(m.memoryGiB * GIB), waiting: 0, lastError: '', failedUntil: 0 });
  }

  /** The least busy up backend holding `model` ready, or undefined. */
  pick(model: string): Backend | undefined {
    let best: Backend | undefined;
    const bs = this.backends;
    for (let i = 0; i < bs.length; i++) {
      const b = bs[i];
      if (!b.up) continue;
      const r = b.residents.get(model);
      if (r === undefined || r.state !== 'ready') continue;
      if (best === undefined || b.outstanding < best.outstanding) best = b;
    }
    return best;
  }

  /** Marks a request forwarded to `b` for `model`; returns the resident to pass to `release`. */
  acquire(model: string, b: Backend): Resident {
    const r = b.residents.get(model)!;
    r.inFlight++;
    r.lastUsed = ++this.clock;
    b.outstanding++;
    return r;
  }

  release(b: Backend, r: Resident): void {
    b.outstanding--;
    r.inFlight--;
    r.lastUsed = ++this.clock;
    if (r.inFlight === 0 && this.roomWaiters.length > 0) this.notifyRoom();
  }

  /**
   * The backend answered that it does not have `model` (Triton: 404 "is not found" / "has no available versions"):
   * the model is no longer served there. Its memory is held until the index shows it gone (it may still be unloading).
   */
  notLoadedHere(b: Backend, model: string): void {
    const r = b.residents.get(model);
    if (r === undefined || r.state !== 'ready') return;
    r.state = 'unloading';
    r.changedAt = Date.now();
    this.metrics.unloads.inc([model, b.name, 'lost']);
    this.log.warn(`${model} is not loaded on ${b.name} any more (unloaded behind the router's back?); waiting for its memory to be free`);
    this.onUnloading(b);
  }

  /** Resolves once `model` is ready on some backend; one load per model at a time. */
  ensureLoaded(ms: ModelState): Promise<void> {
    if (!ms.loading && ms.failure && Date.now() < ms.failedUntil && !this.pick(ms.cfg.name)) {
      return Promise.reject(ms.failure);
    }
    if (!ms.loading) {
      ms.loading = this.load(ms).finally(() => {
        ms.loading = undefined;
      });
    }
    return ms.loading;
  }

  private async load(ms: ModelState): Promise<void> {
    const name = ms.cfg.name;
    const deadline = Date.now() + this.loadTimeoutMs;
    for (;;) {
      if (this.pick(name)) return;
      const placement = this.place(ms);
      if (placement === undefined) {
        const left = deadline - Date.now();
        if (left <= 0) throw this.noRoom(ms);
        // memory held by models still unloading comes free once their backend's index says so: keep reading it
        for (const b of this.backends) if (b.up && [...b.residents.values()].some((r) => r.state === 'unloading')) this.onUnloading(b);
        await this.waitForRoom(Math.min(left, 1000));
        continue;
      }
      const done = await this.loadOn(ms, placement, deadline);
      if (done) return;
      // the backend went away, or an evicted model came back: place again
    }
  }

  private noRoom(ms: ModelState): RouteError {
    const blind = this.backends.filter((b) => b.up && !b.indexed && !b.retired && b.budgetBytes >= ms.bytes);
    const why =
      blind.length > 0
        ? `backend(s) ${blind.map((b) => `${b.name} (${b.indexError || 'not read yet'})`).join(', ')} ` +
          'are up but their repository index cannot be read, so what they hold is unknown; ' +
          "the others' budgets are held by pinned models, models with requests in flight or models still unloading"
        : "every backend's budget is held by pinned models, models with requests in flight or models still unloading";
    return new RouteError(
      503,
      `no room to load model '${ms.cfg.name}' (${fmtGiB(ms.bytes)}) within ${this.cfg.loadTimeoutSeconds}s: ${why}`,
      1,
    );
  }

  /**
   * Chooses a backend for `ms` and reserves its bytes there (state `loading`), marking victims `unloading`.
   * Synchronous, so concurrent placements never pick the same victims or budget. Undefined: no room now.
   * A backend whose index has not been read since it came up holds unknown models: nothing is placed there.
   */
  private place(ms: ModelState): Placement | undefined {
    const name = ms.cfg.name;
    const fits = this.backends.filter((b) => !b.retired && b.budgetBytes >= ms.bytes);
    if (fits.length === 0) {
      const largest = Math.max(0, ...this.backends.filter((b) => !b.retired).map((b) => b.budgetBytes));
      throw new RouteError(
        507,
        `model '${name}' needs ${fmtGiB(ms.bytes)} of GPU memory, ` +
          `more than the largest backend budget (${fmtGiB(largest)}); it can never be loaded`,
      );
    }
    const up = fits.filter((b) => b.up && b.indexed && !b.residents.has(name));
    if (up.length === 0) {
      if (fits.some((b) => b.up)) return undefined; // unloading there, or its index unread: wait
      throw new RouteError(
        503,
        `model '${name}' is not loaded and no backend able to hold it is up (${fits.map((b) => b.name).join(', ')})`,
        5,
      );
    }
    let best: Backend | undefined;
    for (const b of up) {
      if (b.freeBytes < ms.bytes) continue;
      if (!best || b.freeBytes > best.freeBytes || (b.freeBytes === best.freeBytes && b.outstanding < best.outstanding)) best = b;
    }
    if (best) {
      best.add(name, 'loading', ms.bytes, ++this.clock, Date.now());
      return { backend: best, victims: [] };
    }
    // evict: walk evictable residents in LRU order; the first backend that gets enough room wins
    const candidates: Array<{ b: Backend; model: string; r: Resident }> = [];
    for (const b of up) {
      for (const [model, r] of b.residents) {
        if (r.state !== 'ready' || r.inFlight > 0 || r.bytes === 0) continue;
        const st = this.models.get(model);
        if (!st || st.cfg.pinned || st.waiting > 0) continue;
        candidates.push({ b, model, r });
      }
    }
    candidates.sort((x, y) => x.r.lastUsed - y.r.lastUsed);
    const freed = new Map<Backend, string[]>();
    const freedBytes = new Map<Backend, number>();
    for (const c of candidates) {
      const list = freed.get(c.b) ?? [];
      list.push(c.model);
      freed.set(c.b, list);
      const f = (freedBytes.get(c.b) ?? 0) + c.r.bytes;
      freedBytes.set(c.b, f);
      if (c.b.freeBytes + f >= ms.bytes) {
        for (const v of list) {
          const r = c.b.residents.get(v)!;
          r.state = 'unloading';
          r.changedAt = PENDING;
        }
        c.b.add(name, 'loading', ms.bytes, ++this.clock, Date.now());
        return { backend: c.b, victims: list };
      }
    }
    return undefined;
  }

  /** Drops the `loading` reservation of `name` on `b` (when the load is not sent after all). */
  private unreserve(b: Backend, name: string): void {
    if (b.residents.get(name)?.state === 'loading') b.remove(name);
    this.notifyRoom();
  }

  /**
   * Unloads the victims, waits until the backend reports them gone, then loads (in one of the backend's load slots).
   * False when the placement fell through (backend down, a victim back in service): the caller places again.
   */
  private async loadOn(ms: ModelState, p: Placement, deadline: number): Promise<boolean> {
    const name = ms.cfg.name;
    const b = p.backend;
    if (p.victims.length > 0) {
      try {
        await Promise.all(p.victims.map((v) => this.unload(b, v, 'evicted', deadline)));
      } catch (e) {
        if (e instanceof BackendUnreachable) {
          this.markDown(b, e.cause);
          return false;
        }
        throw e;
      }
      const freed = await this.waitReleased(b, p.victims, Math.min(deadline, Date.now() + this.cfg.unloadWaitSeconds * 1000));
      if (freed === 'replan') {
        this.unreserve(b, name);
        return false;
      }
      if (freed === 'timeout') {
        this.unreserve(b, name);
        const still = p.victims.filter((v) => b.residents.get(v)?.state === 'unloading');
        throw new RouteError(
          503,
          `model '${name}' waits for GPU memory on backend ${b.name}: evicted model(s) ${still.join(', ')} ` +
            'not reported unloaded (repository index) ' +
            `within ${Math.round(Math.min(this.cfg.unloadWaitSeconds, this.cfg.loadTimeoutSeconds) * 1000) / 1000}s; retry later`,
          5,
        );
      }
    }
    const releaseSlot = await b.loadSlot(this.cfg.maxLoadsPerBackend);
    if (b.residents.get(name)?.state !== 'loading') {
      // the backend went down while the load waited for a slot
      releaseSlot();
      return false;
    }
    if (Date.now() >= deadline) {
      releaseSlot();
      this.unreserve(b, name);
      this.metrics.loads.inc([name, b.name, 'timeout']);
      throw new RouteError(
        503,
        `model '${name}' did not load within ${this.cfg.loadTimeoutSeconds}s (loadTimeoutSeconds) on backend ${b.name}: ` +
          `${b.loadsRunning} load(s) running there, maxLoadsPerBackend ${this.cfg.maxLoadsPerBackend}`,
        5,
      );
    }
    const started = Date.now();
    const call = this.loadCall(b, name);
    call.then(releaseSlot, releaseSlot);
    const outcome = call.then(
      (reply) => this.loaded(ms, b, p, reply, started),
      (e: BackendUnreachable) => {
        this.metrics.loads.inc([name, b.name, 'failure']);
        this.markDown(b, e.cause);
        return false;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(1, deadline - started));
    });
    let first: boolean | 'timeout';
    try {
      first = await Promise.race([outcome, timeout]);
    } finally {
      // also when the load failed (outcome rejects): a pending timer would hold the process open for loadTimeoutSeconds
      clearTimeout(timer);
    }
    if (first !== 'timeout') return first;
    // Triton goes on loading after a client gives up: keep the budget reserved, let the load finish in the background
    outcome.catch(() => undefined);
    this.metrics.loads.inc([name, b.name, 'timeout']);
    ms.lastError = `load did not finish within ${this.cfg.loadTimeoutSeconds}s on ${b.name}`;
    this.log.warn(
      `load of ${name} on ${b.name} did not finish within ${this.cfg.loadTimeoutSeconds}s; waiting requests get 503, the load goes on`,
    );
    throw new RouteError(
      503,
      `model '${name}' did not load within ${this.cfg.loadTimeoutSeconds}s (loadTimeoutSeconds) on backend ${b.name}; ` +
        'the load goes on in the background',
      5,
    );
  }

  /** One load call: gRPC RepositoryModelLoad when the backend has a gRPC port, else the HTTP repository API. */
  private async loadCall(b: Backend, name: string): Promise<LoadReply> {
    if (b.grpc) {
      try {
        const r = await b.grpc.load(name, LOAD_CALL_LIMIT_MS);
        return {
          ok: r.status === 0,
          code: `gRPC ${GRPC_STATUS_NAMES[r.status] ?? r.status}`,
          message: r.message || `gRPC status ${r.status}`,
        };
      } catch (e) {
        const g = e as GrpcUnreachable;
        throw new BackendUnreachable(b.name, `gRPC: ${g.cause ?? g.message}`, g.timedOut);
      }
    }
    const reply = await b.repo(`/v2/repository/models/${encodeURIComponent(name)}/load`, undefined, LOAD_CALL_LIMIT_MS);
    return { ok: reply.status === 200, code: `HTTP ${reply.status}`, message: tritonMessage(reply) };
  }

  /** Books the answer of a load call: ready (true), backend gone (false) or a RouteError with the backend's message. */
  private loaded(ms: ModelState, b: Backend, p: Placement, reply: LoadReply, started: number): boolean {
    const name = ms.cfg.name;
    const resident = b.residents.get(name);
    if (!reply.ok) {
      if (resident?.state === 'loading') b.remove(name);
      this.metrics.loads.inc([name, b.name, 'failure']);
      const msg = reply.message.trim();
      ms.lastError = msg;
      this.log.warn(`load of ${name} on ${b.name} failed (${reply.code}): ${msg}`);
      this.notifyRoom();
      const backoff = this.cfg.loadFailureBackoffSeconds;
      ms.failure = new RouteError(503, `backend ${b.name} failed to load model '${name}': ${msg}`, Math.max(1, backoff));
      ms.failedUntil = Date.now() + backoff * 1000;
      throw ms.failure;
    }
    const secs = (Date.now() - started) / 1000;
    this.metrics.loads.inc([name, b.name, 'success']);
    this.metrics.loadSeconds.observe(secs);
    ms.lastError = '';
    ms.failure = undefined;
    if (!resident || resident.state !== 'loading') {
      // the backend was marked down meanwhile; its state is rebuilt by the next index read
      return false;
    }
    resident.state = 'ready';
    resident.changedAt = Date.now();
    resident.lastUsed = ++this.clock;
    this.log.info(`loaded ${name} on ${b.name} in ${secs.toFixed(3)}s${p.victims.length ? ` (evicted ${p.victims.join(', ')})` : ''}`);
    this.notifyRoom();
    return true;
  }

  /**
   * Sends `POST .../unload` for `model` on `b`. The resident stays `unloading`, its bytes still counted, until an
   * index read that started after the answer shows the model UNAVAILABLE or absent. Rejects with
   * BackendUnreachable when the backend cannot be reached.
   */
  async unload(b: Backend, model: string, reason: string, deadline: number): Promise<void> {
    const r = b.residents.get(model);
    if (r) {
      r.state = 'unloading';
      r.changedAt = PENDING;
    }
    let reply;
    try {
      reply = await b.repo(`/v2/repository/models/${encodeURIComponent(model)}/unload`, undefined, Math.max(1000, deadline - Date.now()));
    } finally {
      if (r && b.residents.get(model) === r) r.changedAt = Date.now();
    }
    this.metrics.unloads.inc([model, b.name, reason]);
    if (reply.status !== 200) this.log.warn(`unload of ${model} on ${b.name}: HTTP ${reply.status}: ${tritonMessage(reply)}`);
    else this.log.info(`unloading ${model} from ${b.name} (${reason})`);
    this.onUnloading(b);
  }

  /**
   * Waits until none of `models` is a resident of `b` any more (the index reported them gone). `replan`: one came
   * back into service, or the backend went down; `timeout`: still unloading at `until`.
   */
  async waitReleased(b: Backend, models: readonly string[], until: number): Promise<'freed' | 'replan' | 'timeout'> {
    for (;;) {
      if (!b.up || b.retired) return 'replan';
      const rs = models.map((m) => b.residents.get(m));
      if (rs.some((r) => r !== undefined && r.state !== 'unloading')) return 'replan';
      if (rs.every((r) => r === undefined)) return 'freed';
      const left = until - Date.now();
      if (left <= 0) return 'timeout';
      this.onUnloading(b);
      await this.waitForRoom(Math.min(left, 1000));
    }
  }

  /** Forgets what a backend held; its models are re-homed by the next request for them. */
  markDown(b: Backend, cause: string): void {
    this.metrics.backendErrors.inc([b.name]);
    b.dropIdleSockets();
    const before = b.lastError;
    b.lastError = cause;
    b.indexed = false;
    if (!b.up) {
      if (cause !== before) this.log.warn(`backend ${b.name} (${b.url}) is unreachable: ${cause}`);
      return;
    }
    b.up = false;
    b.downSince = Date.now();
    const lost = b.clear();
    for (const m of lost) this.metrics.unloads.inc([m, b.name, 'lost']);
    this.log.warn(`backend ${b.name} is down (${cause})${lost.length ? `; its models will be re-homed: ${lost.join(', ')}` : ''}`);
    this.notifyRoom();
  }

  /**
   * Brings the residents of `b` in line with an index read that started at `readAt` (residents changed since are
   * left alone): adopts models READY there; a model LOADING or UNLOADING there holds memory (`unloading` until it is
   * READY or gone); a model no longer listed, or UNAVAILABLE, is gone and its bytes are released.
   */
  reconcile(b: Backend, index: ReadonlyArray<{ name?: unknown; state?: unknown }>, readAt: number): string[] {
    const states = new Map<string, string>();
    for (const e of index) if (typeof e?.name === 'string' && typeof e.state === 'string') states.set(e.name, e.state);
    const unmanaged: string[] = [];
    let released = false;
    for (const [name, state] of [...states].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
      const ms = this.models.get(name);
      if (!ms) {
        if (state === 'READY') unmanaged.push(name);
        continue;
      }
      const removed = b.removedAt.get(name);
      if (b.residents.has(name) || (removed !== undefined && removed >= readAt)) continue;
      if (state === 'READY') {
        b.add(name, 'ready', ms.bytes, 0, Date.now());
        this.metrics.adoptions.inc([name, b.name]);
        this.log.info(`adopted ${name} on ${b.name} (found READY in its repository index)`);
      } else if (HELD.has(state)) {
        b.add(name, 'unloading', ms.bytes, 0, Date.now());
        this.log.info(`${name} is ${state} on ${b.name} (not loaded by this router): its memory is counted until it is READY or gone`);
        this.onUnloading(b);
      }
    }
    for (const [name, r] of [...b.residents]) {
      if (r.changedAt >= readAt || r.state === 'loading') continue;
      const state = states.get(name);
      if (r.state === 'ready') {
        if (state === 'READY' || r.inFlight > 0) continue;
        if (state !== undefined && HELD.has(state)) {
          r.state = 'unloading';
          r.changedAt = Date.now();
          this.log.warn(`${name} is ${state} on ${b.name}, not READY; waiting for its memory to be free`);
          this.onUnloading(b);
          continue;
        }
        b.remove(name);
        released = true;
        this.metrics.unloads.inc([name, b.name, 'lost']);
        this.log.warn(`${name} is no longer READY on ${b.name}; forgotten`);
        continue;
      }
      // unloading
      if (state === 'READY') {
        r.state = 'ready';
        r.changedAt = Date.now();
        released = true;
        this.log.info(`${name} is READY again on ${b.name}`);
      } else if (state === undefined || !HELD.has(state)) {
        b.remove(name);
        released = true;
      }
    }
    if (released) this.notifyRoom();
    return unmanaged;
  }

  /** Starts loads of pinned models loaded nowhere (errors are logged; the next refresh retries). */
  loadPinned(): Promise<void> {
    const loads: Promise<void>[] = [];
    for (const ms of this.models.values()) {
      if (!ms.cfg.pinned || this.pick(ms.cfg.name)) continue;
      loads.push(
        this.ensureLoaded(ms).catch((e: Error) => {
          const before = ms.lastError;
          ms.lastError = e.message;
          if (e.message !== before) this.log.warn(`pinned model ${ms.cfg.name} not loaded: ${e.message}`);
        }),
      );
    }
    return Promise.all(loads).then(() => undefined);
  }

  notifyRoom(): void {
    const ws = this.roomWaiters;
    if (ws.length === 0) return;
    this.roomWaiters = [];
    for (const w of ws) w();
  }

  private waitForRoom(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.roomWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
