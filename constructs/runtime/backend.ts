/**
 * One Triton server as the router sees it: address, keep-alive agent, memory budget, the models it
 * holds (loading, ready, unloading), requests outstanding, up or down. Also the small JSON client for
 * Triton's repository API (`POST /v2/repository/index`, `.../models/{name}/load|unload`).
 */
import * as http from 'http';

export type Residency = 'loading' | 'ready' | 'unloading';

/** A model's presence on one backend. */
export interface Resident {
  state: Residency;
  /** Bytes of the backend's budget it holds (0 for models not managed by the router). */
  readonly bytes: number;
  /** Requests forwarded to this backend for this model and not yet answered. */
  inFlight: number;
  /** Logical clock of the last request (LRU order). */
  lastUsed: number;
  /** Router clock (ms) when the state last changed; index results older than this are ignored. */
  changedAt: number;
}

/** Result of a repository API call. */
export interface RepoReply {
  readonly status: number;
  readonly body: string;
}

/** Error for a backend that could not be reached (connection refused, reset, timeout). */
export class BackendUnreachable extends Error {
  constructor(readonly backend: string, readonly cause: string, readonly timedOut = false) {
    super(`backend ${backend} unreachable: ${cause}`);
  }
}

export class Backend {
  readonly host: string;
  readonly port: number;
  readonly agent: http.Agent;
  readonly residents = new Map<string, Resident>();
  /** Router clock (ms) when each model last left this backend: an index read older than that must not re-adopt it. */
  readonly removedAt = new Map<string, number>();
  /** Requests forwarded to this backend and not yet answered (all models). */
  outstanding = 0;
  usedBytes = 0;
  up = false;
  /** Set when a discovered address disappears from DNS: the backend is never used again. */
  retired = false;
  /** Router clock (ms) when the backend last went down. */
  downSince = 0;
  /** Last error, for `/router/state` and logs. */
  lastError = '';
  /** Router clock (ms) of the last index read triggered by a 400 answer (see BackendSync.recheck). */
  lastRecheck = 0;
  recheckScheduled = false;
  /** Set while an index read checks the backend after a broken connection; requests wait for it. */
  probing?: Promise<void>;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly budgetBytes: number,
    /** The config entry the backend comes from (its own name, or the `discover: dns` entry's name). */
    readonly group: string,
  ) {
    const u = new URL(url);
    this.host = u.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(u.port || 80);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256, scheduling: 'lifo' });
  }

  get freeBytes(): number {
    return this.budgetBytes - this.usedBytes;
  }

  /** Ready residents of `model`, or undefined. */
  ready(model: string): Resident | undefined {
    const r = this.residents.get(model);
    return r && r.state === 'ready' ? r : undefined;
  }

  /** Adds a resident and charges its bytes to the budget. */
  add(model: string, state: Residency, bytes: number, clock: number, now: number): Resident {
    const r: Resident = { state, bytes, inFlight: 0, lastUsed: clock, changedAt: now };
    this.residents.set(model, r);
    this.usedBytes += bytes;
    return r;
  }

  /** Removes a resident and releases its bytes. */
  remove(model: string): void {
    const r = this.residents.get(model);
    if (!r) return;
    this.residents.delete(model);
    this.usedBytes -= r.bytes;
    this.removedAt.set(model, Date.now());
  }

  /** Forgets every resident (backend went down or was retired). Returns the names dropped. */
  clear(): string[] {
    const names = [...this.residents.keys()].sort();
    const now = Date.now();
    for (const n of names) this.removedAt.set(n, now);
    this.residents.clear();
    this.usedBytes = 0;
    return names;
  }

  /** POSTs a JSON body to the repository API; rejects with BackendUnreachable on connection failure or timeout. */
  repo(path: string, body: unknown, timeoutMs: number): Promise<RepoReply> {
    const payload = body === undefined ? '' : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      let settled = false;
      const req = http.request(
        {
          host: this.host,
          port: this.port,
          method: 'POST',
          path,
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', (e) => done(e.message));
        },
      );
      const done = (cause: string, timedOut = false): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(new BackendUnreachable(this.name, cause, timedOut));
      };
      const timer = setTimeout(() => done(`no answer to POST ${path} within ${timeoutMs / 1000}s`, true), timeoutMs);
      req.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
      req.end(payload);
    });
  }

  /** Destroys the agent's idle keep-alive sockets (after one of them broke). */
  dropIdleSockets(): void {
    for (const list of Object.values(this.agent.freeSockets)) for (const sock of list ?? []) sock.destroy();
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The `error` field of a Triton error body, else the body itself (trimmed), else the status. */
export function tritonMessage(reply: RepoReply): string {
  try {
    const j = JSON.parse(reply.body);
    if (j && typeof j.error === 'string') return j.error;
  } catch {
    // not JSON
  }
  const t = reply.body.trim().slice(0, 500);
  return t || `HTTP ${reply.status}`;
}
