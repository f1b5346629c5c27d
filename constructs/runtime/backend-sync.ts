/**
 * Keeps the router's picture of its backends true: at start and every `refreshIntervalSeconds` it resolves
 * `discover: dns` entries to one backend per address, then for each backend:
 *
 * - **up or down** from `GET /v2/health/live`: a backend that does not answer it is down and its models are forgotten;
 * - **state** from `POST /v2/repository/index`: adopts READY models, learns which models are gone or still unloading.
 *   Triton lists the whole repository on every index call (on S3: HeadBucket + ListObjectsV2; core r25.08
 *   `model_repository_manager.cc` RepositoryIndex), so the read can be slow or fail while the server is fine: a failed
 *   index read is counted and logged, and the backend keeps its residents.
 *
 * While a backend has models `unloading` (evicted, or found gone behind the router's back), its index is polled
 * (25 ms, doubling to 1 s) until they are reported UNAVAILABLE or absent: only then is their memory free.
 */
import { promises as dns } from 'dns';
import type { RouterConfig } from './config';
import { GIB } from './config';
import { Backend, BackendUnreachable } from './backend';
import type { ModelCache } from './model-cache';
import type { RouterMetrics } from './metrics';
import type { Log } from './log';

const SETTLE_FIRST_MS = 25;
const SETTLE_MAX_MS = 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

export class BackendSync {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  /** Models READY on a backend that the config does not list, by backend name. */
  readonly unmanaged = new Map<string, string[]>();
  private readonly healthTimeoutMs: number;
  private readonly indexTimeoutMs: number;

  constructor(
    private readonly cfg: RouterConfig,
    private readonly cache: ModelCache,
    private readonly metrics: RouterMetrics,
    private readonly log: Log,
  ) {
    this.healthTimeoutMs = cfg.healthTimeoutSeconds * 1000;
    this.indexTimeoutMs = cfg.indexTimeoutSeconds * 1000;
    for (const bc of cfg.backends) {
      if (bc.discover === 'none') cache.backends.push(new Backend(bc.name, bc.url, Math.round(bc.memoryGiB * GIB), bc.name, bc.grpcPort));
    }
    cache.onUnloading = (b) => this.settle(b);
  }

  /** One refresh of every backend; concurrent callers share it. */
  refresh(): Promise<void> {
    if (!this.running) {
      this.running = this.doRefresh().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  /** Refreshes now, then periodically. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.stopped) return;
    this.timer = setInterval(() => {
      this.refresh().catch((e: Error) => this.log.warn(`refresh failed: ${e.message}`));
    }, this.cfg.refreshIntervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * After a broken connection: drops the backend's idle sockets (they are likely dead too) and checks it at once
   * (health, then index), marking it down if it is not live. Requests routed to it wait for `b.probing`.
   */
  probe(b: Backend): void {
    if (b.probing) return;
    b.dropIdleSockets();
    b.probing = this.sync(b).finally(() => {
      b.probing = undefined;
    });
  }

  /** Reads one backend's index soon (coalesced while a read is pending). */
  recheck(b: Backend): void {
    if (b.recheckScheduled) return;
    b.recheckScheduled = true;
    setImmediate(() => {
      b.recheckScheduled = false;
      this.readIndex(b).catch(() => undefined);
    });
  }

  /**
   * Polls the backend's index until none of its residents is `unloading` (bounded by unloadWaitSeconds). A new
   * unload while the poll runs starts its back-off again (next read in 25 ms).
   */
  settle(b: Backend): void {
    if (this.stopped) return;
    const deadline = Date.now() + this.cfg.unloadWaitSeconds * 1000;
    if (b.settling) {
      b.settleDeadline = Math.max(b.settleDeadline, deadline);
      b.settleKick?.();
      return;
    }
    b.settleDeadline = deadline;
    b.settling = (async () => {
      let wait = SETTLE_FIRST_MS;
      while (
        !this.stopped &&
        b.up &&
        !b.retired &&
        [...b.residents.values()].some((r) => r.state === 'unloading') &&
        Date.now() < b.settleDeadline
      ) {
        const kicked = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), wait);
          t.unref();
          b.settleKick = () => {
            clearTimeout(t);
            resolve(true);
          };
        });
        b.settleKick = undefined;
        wait = kicked ? SETTLE_FIRST_MS : Math.min(wait * 2, SETTLE_MAX_MS);
        if (kicked) await sleep(SETTLE_FIRST_MS);
        await this.readIndex(b);
      }
    })().finally(() => {
      b.settling = undefined;
      b.settleKick = undefined;
    });
  }

  private async doRefresh(): Promise<void> {
    await this.discover();
    await Promise.all(this.cache.backends.map((b) => this.sync(b)));
    if (!this.stopped) await this.cache.loadPinned();
  }

  private async discover(): Promise<void> {
    for (const bc of this.cfg.backends) {
      if (bc.discover !== 'dns') continue;
      const u = new URL(bc.url);
      const port = u.port || '80';
      let addrs: string[];
      try {
        addrs = (await dns.lookup(u.hostname, { all: true })).map((a) => a.address).sort();
      } catch (e) {
        this.log.warn(
          `backends ${bc.name}: cannot resolve ${u.hostname}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; ` +
            'keeping the last known addresses',
        );
        continue;
      }
      const wanted = new Set(addrs.map((a) => `${bc.name}/${a}`));
      for (const b of this.cache.backends.filter((x) => x.group === bc.name && !wanted.has(x.name))) {
        this.cache.markDown(b, 'address no longer in DNS');
        b.retired = true;
        b.close();
        this.log.info(`backend ${b.name} retired (no longer in DNS for ${u.hostname})`);
      }
      this.cache.backends = this.cache.backends.filter((x) => !x.retired);
      for (const a of addrs) {
        const name = `${bc.name}/${a}`;
        if (this.cache.backends.some((x) => x.name === name)) continue;
        const host = a.includes(':') ? `[${a}]` : a;
        this.cache.backends.push(new Backend(name, `http://${host}:${port}`, Math.round(bc.memoryGiB * GIB), bc.name, bc.grpcPort));
        this.log.info(`backend ${name} discovered (${u.hostname})`);
      }
    }
  }

  /** Health, then (when live) the index. */
  private async sync(b: Backend): Promise<void> {
    const down = await this.checkLive(b);
    if (b.retired) return;
    if (down !== undefined) {
      this.cache.markDown(b, down);
      return;
    }
    if (!b.up) {
      b.up = true;
      b.lastError = '';
      this.log.info(`backend ${b.name} is up (${b.url})`);
      this.cache.notifyRoom();
    }
    await this.readIndex(b);
  }

  /**
   * `GET /v2/health/live`: undefined when live, else why not. A timeout is tried once more on a new connection: a
   * kept-alive connection may wait behind a load on a busy Triton HTTP worker.
   */
  private async checkLive(b: Backend): Promise<string | undefined> {
    for (const fresh of [false, true]) {
      try {
        const r = await b.get('/v2/health/live', this.healthTimeoutMs, fresh);
        return r.status === 200 ? undefined : `GET /v2/health/live answered HTTP ${r.status}`;
      } catch (e) {
        const err = e as BackendUnreachable;
        if (!err.timedOut || fresh) return err.cause ?? err.message;
      }
    }
    return 'no answer to GET /v2/health/live';
  }

  /** Reads and reconciles the index; on failure keeps the residents. True when the read succeeded. */
  private async readIndex(b: Backend): Promise<boolean> {
    const readAt = Date.now();
    let problem: string | undefined;
    let index: unknown;
    try {
      const reply = await b.repo('/v2/repository/index', {}, this.indexTimeoutMs);
      try {
        index = JSON.parse(reply.body);
      } catch {
        index = undefined;
      }
      if (reply.status !== 200 || !Array.isArray(index)) {
        const msg = (index as { error?: unknown } | undefined)?.error;
        const detail = typeof msg === 'string' ? `: ${msg}` : Array.isArray(index) ? '' : ' without a JSON list';
        problem = `repository index answered HTTP ${reply.status}${detail}`;
      }
    } catch (e) {
      problem = (e as Error & { cause?: string }).cause ?? (e as Error).message;
    }
    if (b.retired || !b.up) return false;
    if (problem !== undefined) {
      this.metrics.indexErrors.inc([b.name]);
      if (problem !== b.indexError) {
        this.log.warn(
          `backend ${b.name}: repository index read failed (${problem}); ` +
            `it stays in service with the ${b.residents.size} model(s) the router knows`,
        );
      }
      b.indexError = problem;
      return false;
    }
    if (b.indexError) this.log.info(`backend ${b.name}: repository index read again`);
    b.indexError = '';
    b.indexed = true;
    const unmanaged = this.cache.reconcile(b, index as ReadonlyArray<{ name?: unknown; state?: unknown; reason?: unknown }>, readAt);
    const before = this.unmanaged.get(b.name)?.join(',');
    if (unmanaged.length > 0 && unmanaged.join(',') !== before) {
      this.log.warn(
        `backend ${b.name} has models READY that the router does not manage (their memory is not counted): ${unmanaged.join(', ')}`,
      );
    }
    this.unmanaged.set(b.name, unmanaged);
    return true;
  }
}
