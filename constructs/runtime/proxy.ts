/**
 * The hot path: stream a client request to a backend and its answer back, without parsing bodies.
 * `done` is called exactly once per forwarded request, with the status the client got
 * (499 when the client went away first).
 */
import * as http from 'http';
import type { Backend } from './backend';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer']);

/**
 * The raw header list (`[name, value, name, value, ...]`) without hop-by-hop headers. Node takes such an
 * array as is, skipping its per-header bookkeeping (measurably cheaper on the request path).
 */
function endToEnd(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    // hop-by-hop names all start with c, k, p, u or t: most headers skip the lower-casing
    const c = name.charCodeAt(0) | 0x20;
    if ((c === 99 || c === 107 || c === 112 || c === 117 || c === 116) && HOP_BY_HOP.has(name.toLowerCase())) continue;
    out.push(name, raw[i + 1]);
  }
  return out;
}

/** Errors that mean the backend process or host is gone (as opposed to one broken socket). */
export const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ETIMEDOUT']);

const JSON_HEADERS = { 'content-type': 'application/json' };

/** Sends a JSON `{"error": msg}` answer unless one was already started. */
export function sendError(res: http.ServerResponse, status: number, msg: string, retryAfterSeconds?: number): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify({ error: msg });
  const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  res.writeHead(status, headers);
  res.end(body);
}

/** Sends a JSON body. */
export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(value);
  res.writeHead(status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Connection failures after which a request whose body the router holds is sent again (once). */
const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);
/** Largest request body kept in memory for that retry; larger bodies are streamed only. */
const MAX_REPLAY_BYTES = 8 * 1024 * 1024;

export interface ForwardHooks {
  /**
   * When set: called instead of answering 502 when the connection failed before any answer and the whole
   * body is held in memory; the caller routes the request again with that body.
   */
  retry?: (body: Buffer[]) => void;
  /** Called once with the status the client got (not after `retry`). */
  done(status: number): void;
  /** Called when the backend could not be reached or broke the connection (before `done`). */
  backendError(code: string): void;
  /**
   * When set: an answer with status 400, 404 or 503 (small, JSON) is read whole and handed here first, with the
   * request body held for a retry (undefined when it was not kept). True: the caller takes the request over (the
   * answer is dropped, `done` is not called); false: the answer passes through.
   */
  notLoaded?(status: number, body: Buffer, replay: Buffer[] | undefined): boolean;
}

/** Largest error answer read whole for `notLoaded`. */
const MAX_ERROR_BYTES = 64 * 1024;

/** One forwarded request: the client's request and answer, the backend, and what has happened so far. */
interface Exchange {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly b: Backend;
  readonly timeoutMs: number;
  readonly replay: Buffer[] | undefined;
  readonly hooks: ForwardHooks;
  /** `done` was called, or the request was handed back (`retry`, `notLoaded`). */
  finished: boolean;
  /** References to the body chunks (no copies), for one retry on a dead connection; undefined once too large. */
  kept: Buffer[] | undefined;
  keptBytes: number;
}

/** Streams `req` (or `replay`, a body already read) to `b` and the answer to `res`. */
export function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  b: Backend,
  timeoutMs: number,
  replay: Buffer[] | undefined,
  hooks: ForwardHooks,
): void {
  const x: Exchange = {
    req,
    res,
    b,
    timeoutMs,
    replay,
    hooks,
    finished: false,
    kept: hooks.retry !== undefined ? [] : undefined,
    keptBytes: 0,
  };
  const upstream = http.request(
    {
      host: b.host,
      port: b.port,
      method: req.method,
      path: req.url,
      headers: endToEnd(req.rawHeaders) as unknown as http.OutgoingHttpHeaders,
      agent: b.agent,
    },
    (ures) => answer(x, ures),
  );
  upstream.on('error', (e: NodeJS.ErrnoException) => upstreamFailed(x, e));
  if (timeoutMs > 0) {
    upstream.setTimeout(timeoutMs, () => {
      const err: NodeJS.ErrnoException = new Error('request timeout');
      err.code = 'ETIMEDOUT_REQUEST';
      upstream.destroy(err);
    });
  }
  res.on('close', () => {
    if (!x.finished) {
      upstream.destroy();
      finish(x, res.writableFinished ? res.statusCode || 200 : 499);
    }
  });
  req.on('error', () => upstream.destroy());
  if (replay !== undefined) {
    for (let i = 0; i < replay.length - 1; i++) upstream.write(replay[i]);
    if (replay.length > 0) upstream.end(replay[replay.length - 1]);
    else upstream.end();
    return;
  }
  streamRequestBody(x, upstream);
}

/** Calls `done` once. */
function finish(x: Exchange, status: number): void {
  if (x.finished) return;
  x.finished = true;
  x.hooks.done(status);
}

/** The backend answered: a small error answer goes to `notLoaded` first (when set), any other streams to the client. */
function answer(x: Exchange, ures: http.IncomingMessage): void {
  const status = ures.statusCode ?? 502;
  if (x.res.destroyed) {
    ures.resume();
    finish(x, 499);
    return;
  }
  if (x.hooks.notLoaded !== undefined && (status === 404 || status === 503 || status === 400)) readErrorAnswer(x, ures, status);
  else streamAnswer(x, ures, status);
}

/** Reads an error answer whole and offers it to `notLoaded` with the held request body; passes it on unless taken over. */
function readErrorAnswer(x: Exchange, ures: http.IncomingMessage, status: number): void {
  const { req, res } = x;
  const chunks: Buffer[] = [];
  let size = 0;
  ures.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= MAX_ERROR_BYTES) chunks.push(c);
  });
  ures.on('end', () => {
    const body = Buffer.concat(chunks);
    const held = x.replay ?? (x.kept !== undefined && req.complete ? x.kept : undefined);
    if (size <= MAX_ERROR_BYTES && !res.destroyed && x.hooks.notLoaded!(status, body, held)) {
      x.finished = true;
      return;
    }
    if (res.destroyed) {
      finish(x, 499);
      return;
    }
    res.writeHead(status, endToEnd(ures.rawHeaders));
    res.end(body);
    finish(x, status);
  });
  ures.on('error', () => {
    res.destroy();
    finish(x, 502);
  });
}

/** Streams the answer to the client with backpressure. */
function streamAnswer(x: Exchange, ures: http.IncomingMessage, status: number): void {
  const { res } = x;
  res.writeHead(status, endToEnd(ures.rawHeaders));
  // hold one chunk back so a one-chunk answer leaves as headers + body + end in one write
  let held: Buffer | undefined;
  ures.on('data', (c: Buffer) => {
    if (held !== undefined && !res.write(held)) {
      ures.pause();
      res.once('drain', () => ures.resume());
    }
    held = c;
  });
  ures.on('end', () => {
    if (held !== undefined) res.end(held);
    else res.end();
    finish(x, status);
  });
  // a backend that breaks off its answer: 'error' (ECONNRESET, "aborted"); the client connection is cut
  ures.on('error', () => {
    res.destroy();
    finish(x, 502);
  });
}

/** The connection to the backend failed: retry with the held body, cut an answer already started, or answer 502/504. */
function upstreamFailed(x: Exchange, e: NodeJS.ErrnoException): void {
  const { req, res, hooks } = x;
  if (x.finished) return;
  if (res.destroyed) {
    finish(x, 499);
    return;
  }
  const code = e.code ?? 'ERROR';
  hooks.backendError(code);
  if (!res.headersSent && x.kept !== undefined && req.complete && RETRYABLE_CODES.has(code)) {
    x.finished = true;
    hooks.retry!(x.kept);
    return;
  }
  if (res.headersSent) {
    res.destroy();
    finish(x, 502);
    return;
  }
  const status = code === 'ETIMEDOUT_REQUEST' ? 504 : 502;
  const msg =
    status === 504
      ? `backend ${x.b.name} did not answer within ${x.timeoutMs / 1000}s`
      : `backend ${x.b.name} failed: ${code}${e.message && e.message !== code ? ` (${e.message})` : ''}`;
  sendError(res, status, msg);
  finish(x, status);
}

/** Streams the client's request body to the backend with backpressure, keeping references for a retry while small enough. */
function streamRequestBody(x: Exchange, upstream: http.ClientRequest): void {
  const { req } = x;
  // as for the answer: the last chunk goes with end()
  let held: Buffer | undefined;
  req.on('data', (c: Buffer) => {
    if (x.kept !== undefined) {
      x.kept.push(c);
      x.keptBytes += c.length;
      if (x.keptBytes > MAX_REPLAY_BYTES) x.kept = undefined;
    }
    if (held !== undefined && !upstream.write(held)) {
      req.pause();
      upstream.once('drain', () => req.resume());
    }
    held = c;
  });
  req.on('end', () => {
    if (held !== undefined) upstream.end(held);
    else upstream.end();
  });
}
