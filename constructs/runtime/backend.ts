/**
 * One Triton server as the router sees it: address, keep-alive agent, memory budget, the models it
 * holds (loading, ready, unloading), requests outstanding, up or down. Also the small JSON client for
 * Triton's repository API (`POST /v2/repository/index`, `.../models/{name}/load|unload`).
 */
import * as http from 'http';
import type { Socket } from 'net';
import { GrpcRepository } from './grpc-repository';

export type Residency = 'loading' | 'ready' | 'unloading';

/**
 * A model's presence on one backend. `unloading` holds its bytes until the backend's index shows the model gone
 * (UNAVAILABLE/unloaded, or absent): Triton frees a model's GPU memory only once it is destroyed, after the unload
 * call has returned (core r25.08 `model_lifecycle.cc` AsyncUnload, ModelDeleter).
 */
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
  constructor(
    readonly backend: string,
    readonly cause: string,
    readonly timedOut = false,
  ) {
    super(`backend ${backend} unreachable: ${cause}`);
  }
}

/** The parts of a pooled socket Node's Agent reads beyond the public net.Socket API. */
interface PooledSocket extends Socket {
  _httpMessage?: { res?: { rawHeaders: string[] } } | null;
  _handle?: { asyncReset?(resource: object): void; getProviderType(): number; getAsyncId(): number } | null;
  [key: symbol]: unknown;
}

// eslint-disable-next-line @typescript-eslint/unbound-method -- taken to be called with .call() on an agent
const nodeAddRequest = (
  http.Agent.prototype as unknown as { addRequest(this: http.Agent, r: http.ClientRequest, o: http.RequestOptions): void }
).addRequest;

/** Node's per-socket async id slot (a symbol described 'async_id_symbol'), looked up once. */
let asyncIdSymbol: symbol | null | undefined;

/**
 * Node's keep-alive Agent with a shorter path for the usual case of a proxied request: an idle socket to
 * the backend is waiting. It does what `Agent.prototype.addRequest` does for that case (drop destroyed
 * sockets, take the newest idle one, give the socket a new async id, hand it to the request) without
 * copying the request options twice, computing a TLS server name and recomputing the pool key. Every other
 * case goes to Node's code. `keepSocketAlive` reads the answer's `Keep-Alive: timeout=N` hint from the raw
 * header list instead of building the answer's header object.
 */
export class UpstreamAgent extends http.Agent {
  /** Pool key of the one origin this agent serves (as `getName` makes it), once known. */
  private poolKey: string | undefined;
  private poolHost: string | undefined;
  private poolPort: number | string | undefined;

  addRequest(req: http.ClientRequest, options: http.RequestOptions): void {
    const key = this.poolKey;
    const free = key !== undefined && options.host === this.poolHost && options.port === this.poolPort ? this.freeSockets[key] : undefined;
    if (key === undefined || free === undefined || asyncIdSymbol === null) {
      if (key === undefined && options.localAddress === undefined && options.family === undefined && options.socketPath === undefined) {
        this.poolKey = `${options.host}:${options.port}:`;
        this.poolHost = options.host ?? undefined;
        this.poolPort = options.port ?? undefined;
      }
      nodeAddRequest.call(this, req, options);
      return;
    }
    while (free.length > 0 && free[0].destroyed) free.shift();
    const socket = free.pop() as PooledSocket | undefined;
    if (free.length === 0) delete (this.freeSockets as Record<string, Socket[]>)[key];
    if (socket === undefined) {
      nodeAddRequest.call(this, req, options);
      return;
    }
    const handle = socket._handle;
    if (handle && typeof handle.asyncReset === 'function') {
      if (asyncIdSymbol === undefined)
        asyncIdSymbol = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'async_id_symbol') ?? null;
      handle.asyncReset({ type: handle.getProviderType(), handle });
      if (asyncIdSymbol !== null) socket[asyncIdSymbol] = handle.getAsyncId();
    }
    (this as unknown as { reuseSocket(s: Socket, r: http.ClientRequest): void }).reuseSocket(socket, req);
    (req as unknown as { onSocket(s: Socket): void }).onSocket(socket);
    const reqTimeout = (req as unknown as { timeout?: number }).timeout;
    if (reqTimeout !== undefined && reqTimeout !== ((this as unknown as { options: { timeout?: number } }).options.timeout || 0))
      socket.setTimeout(reqTimeout);
    const sockets = this.sockets[key];
    if (sockets !== undefined) sockets.push(socket);
    else (this.sockets as Record<string, Socket[]>)[key] = [socket];
  }

  keepSocketAlive(socket: Socket): boolean {
    socket.setKeepAlive(true, (this as unknown as { keepAliveMsecs: number }).keepAliveMsecs);
    socket.unref();
    let agentTimeout = (this as unknown as { options: { timeout?: number } }).options.timeout || 0;
    let canKeepSocketAlive = true;
    const raw = (socket as PooledSocket)._httpMessage?.res?.rawHeaders;
    if (raw !== undefined) {
      for (let i = 0; i < raw.length; i += 2) {
        if (raw[i].length !== 10 || raw[i].toLowerCase() !== 'keep-alive') continue;
        // as Node: stop reusing the socket a second before the server's announced timeout
        const hint = /^timeout=(\d+)/.exec(raw[i + 1])?.[1];
        if (hint) {
          const serverHintTimeout = Math.max(0, parseInt(hint, 10) * 1000 - 1000);
          if (serverHintTimeout === 0) canKeepSocketAlive = false;
          else if (serverHintTimeout < agentTimeout) agentTimeout = serverHintTimeout;
        }
        break;
      }
    }
    if (socket.timeout !== agentTimeout) socket.setTimeout(agentTimeout);
    return canKeepSocketAlive;
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
  /** True once an index read succeeded since the backend came up: only then are loads placed on it. */
  indexed = false;
  /** Last index read failure (the backend stays up and keeps its residents), '' after a good read. */
  indexError = '';
  /** Set while a health and index check runs after a broken connection; requests wait for it. */
  probing?: Promise<void>;
  /** Set while the index is polled until `unloading` residents are gone (see BackendSync.settle). */
  settling?: Promise<void>;
  settleDeadline = 0;
  /** Cuts the poll's current back-off short (a new unload). */
  settleKick?: () => void;
  /** Index reads asked for while one runs (see BackendSync.recheck). */
  recheckScheduled = false;
  /** Loads running on the backend, and the loads waiting for a slot (maxLoadsPerBackend). */
  loadsRunning = 0;
  private readonly loadQueue: Array<() => void> = [];
  /** gRPC endpoint for loads, when the config names its port. */
  readonly grpc?: GrpcRepository;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly budgetBytes: number,
    /** The config entry the backend comes from (its own name, or the `discover: dns` entry's name). */
    readonly group: string,
    grpcPort?: number,
  ) {
    const u = new URL(url);
    this.host = u.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(u.port || 80);
    this.agent = new UpstreamAgent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256, scheduling: 'lifo' });
    if (grpcPort !== undefined) this.grpc = new GrpcRepository(`http://${u.hostname}:${grpcPort}`);
  }

  /** Waits for one of the backend's load slots; call the returned function once the load call ended. */
  async loadSlot(limit: number): Promise<() => void> {
    if (this.loadsRunning >= limit) await new Promise<void>((r) => this.loadQueue.push(r));
    else this.loadsRunning++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.loadQueue.shift();
      if (next) next();
      else this.loadsRunning--;
    };
  }

  /** Loads waiting for a slot. */
  get loadsQueued(): number {
    return this.loadQueue.length;
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
    return this.call('POST', path, body === undefined ? '' : JSON.stringify(body), timeoutMs, this.agent);
  }

  /**
   * `GET path`; `fresh`: on a new connection (a kept-alive one may belong to a Triton HTTP worker that is busy with a
   * load over HTTP, server#8958).
   */
  get(path: string, timeoutMs: number, fresh = false): Promise<RepoReply> {
    return this.call('GET', path, undefined, timeoutMs, fresh ? false : this.agent);
  }

  private call(
    method: string,
    path: string,
    payload: string | undefined,
    timeoutMs: number,
    agent: http.Agent | false,
  ): Promise<RepoReply> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const req = http.request(
        {
          host: this.host,
          port: this.port,
          method,
          path,
          agent,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
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
      const timer = setTimeout(() => done(`no answer to ${method} ${path} within ${timeoutMs / 1000}s`, true), timeoutMs);
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
    this.grpc?.close();
  }
}

/** The `error` field of a Triton error body, else the body itself (trimmed), else the status. */
export function tritonMessage(reply: RepoReply): string {
  try {
    const j = JSON.parse(reply.body) as { error?: unknown } | null;
    if (j && typeof j.error === 'string') return j.error;
  } catch {
    // not JSON
  }
  const t = reply.body.trim().slice(0, 500);
  return t || `HTTP ${reply.status}`;
}
