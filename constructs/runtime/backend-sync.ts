/**
 * Keeps the router's picture of its backends true: at start and every `refreshIntervalSeconds` it
 * resolves `discover: dns` entries to one backend per address, reads each backend's
 * `POST /v2/repository/index`, marks it up or down, adopts READY models and re-loads pinned ones.
 */
import { promises as dns } from 'dns';
import type { RouterConfig } from './config';
import { GIB } from './config';
import { Backend } from './backend';
import type { ModelCache } from './model-cache';
import type { Log } from './log';

const INDEX_TIMEOUT_MS = 5000;

export class BackendSync {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** Models READY on a backend that the config does not list, by backend name. */
  readonly unmanaged = new Map<string, string[]>();

  constructor(private readonly cfg: RouterConfig, private readonly cache: ModelCache, private readonly log: Log) {
    for (const bc of cfg.backends) {
      if (bc.discover === 'none') cache.backends.push(new Backend(bc.name, bc.url, Math.round(bc.memoryGiB * GIB), bc.name));
    }
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
    this.timer = setInterval(() => {
      this.refresh().catch((e: Error) => this.log.warn(`refresh failed: ${e.message}`));
    }, this.cfg.refreshIntervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * After a broken connection: drops the backend's idle sockets (they are likely dead too) and reads its
   * index at once, marking it down if it does not answer. Requests routed to it wait for `b.probing`.
   */
  probe(b: Backend): void {
    if (b.probing) return;
    b.dropIdleSockets();
    b.probing = this.sync(b).finally(() => {
      b.probing = undefined;
    });
  }

  /**
   * Reads one backend's index soon, at most once a second per backend: after it answered 400 for a model the
   * router believes loaded there (someone unloaded it behind the router's back), so the next request reloads it.
   */
  recheck(b: Backend): void {
    if (b.recheckScheduled) return;
    const wait = Math.max(0, b.lastRecheck + 1000 - Date.now());
    b.recheckScheduled = true;
    setTimeout(() => {
      b.recheckScheduled = false;
      b.lastRecheck = Date.now();
      this.sync(b).catch(() => undefined);
    }, wait).unref();
  }

  private async doRefresh(): Promise<void> {
    await this.discover();
    await Promise.all(this.cache.backends.map((b) => this.sync(b)));
    await this.cache.loadPinned();
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
        this.log.warn(`backends ${bc.name}: cannot resolve ${u.hostname}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; keeping the last known addresses`);
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
        this.cache.backends.push(new Backend(name, `http://${host}:${port}`, Math.round(bc.memoryGiB * GIB), bc.name));
        this.log.info(`backend ${name} discovered (${u.hostname})`);
      }
    }
  }

  private async sync(b: Backend): Promise<void> {
    const readAt = Date.now();
    let reply;
    try {
      reply = await b.repo('/v2/repository/index', {}, INDEX_TIMEOUT_MS);
    } catch (e) {
      this.cache.markDown(b, (e as Error & { cause?: string }).cause ?? (e as Error).message);
      return;
    }
    let index: unknown;
    try {
      index = JSON.parse(reply.body);
    } catch {
      index = undefined;
    }
    if (reply.status !== 200 || !Array.isArray(index)) {
      this.cache.markDown(b, `repository index answered HTTP ${reply.status}${Array.isArray(index) ? '' : ' without a JSON list'} (is Triton running with --model-control-mode=explicit?)`);
      return;
    }
    if (b.retired) return;
    if (!b.up) {
      b.up = true;
      b.lastError = '';
      this.log.info(`backend ${b.name} is up (${b.url})`);
    }
    const unmanaged = this.cache.reconcile(b, index, readAt);
    const before = this.unmanaged.get(b.name)?.join(',');
    if (unmanaged.length > 0 && unmanaged.join(',') !== before) {
      this.log.warn(`backend ${b.name} has models READY that the router does not manage (their memory is not counted): ${unmanaged.join(', ')}`);
    }
    this.unmanaged.set(b.name, unmanaged);
  }
}
