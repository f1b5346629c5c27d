/**
 * The hot path: stream a client request to a backend and its answer back, without parsing bodies.
 * `done` is called exactly once per forwarded request, with the status the client got
 * (499 when the client went away first).
 */
import * as http from 'http';
import type { Backend } from './backend';

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer'];

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

export interface ForwardHooks {
  /** Called once with the status the client got. */
  done(status: number): void;
  /** Called when the backend could not be reached or broke the connection (before `done`). */
  backendError(code: string): void;
}

/** Streams `req` to `b` and the answer to `res`. */
export function forward(req: http.IncomingMessage, res: http.ServerResponse, b: Backend, timeoutMs: number, hooks: ForwardHooks): void {
  let finished = false;
  const finish = (status: number): void => {
    if (finished) return;
    finished = true;
    hooks.done(status);
  };
  const headers = req.headers;
  for (const h of HOP_BY_HOP) if (headers[h] !== undefined) delete headers[h];

  const upstream = http.request(
    { host: b.host, port: b.port, method: req.method, path: req.url, headers, agent: b.agent },
    (ures) => {
      const status = ures.statusCode ?? 502;
      const uh = ures.headers;
      for (const h of HOP_BY_HOP) if (uh[h] !== undefined) delete uh[h];
      if (res.destroyed) {
        ures.resume();
        finish(499);
        return;
      }
      res.writeHead(status, uh);
      ures.pipe(res);
      ures.on('end', () => finish(status));
      ures.on('error', () => {
        res.destroy();
        finish(502);
      });
      ures.on('aborted', () => {
        res.destroy();
        finish(502);
      });
    },
  );
  upstream.on('error', (e: NodeJS.ErrnoException) => {
    if (finished) return;
    if (res.destroyed) {
      finish(499);
      return;
    }
    const code = e.code ?? 'ERROR';
    hooks.backendError(code);
    if (res.headersSent) {
      res.destroy();
      finish(502);
      return;
    }
    const status = code === 'ETIMEDOUT_REQUEST' ? 504 : 502;
    const msg = status === 504
      ? `backend ${b.name} did not answer within ${timeoutMs / 1000}s`
      : `backend ${b.name} failed: ${code}${e.message && e.message !== code ? ` (${e.message})` : ''}`;
    sendError(res, status, msg);
    finish(status);
  });
  if (timeoutMs > 0) {
    upstream.setTimeout(timeoutMs, () => {
      const err: NodeJS.ErrnoException = new Error('request timeout');
      err.code = 'ETIMEDOUT_REQUEST';
      upstream.destroy(err);
    });
  }
  res.on('close', () => {
    if (!finished) {
      upstream.destroy();
      finish(res.writableFinished ? (res.statusCode || 200) : 499);
    }
  });
  req.on('error', () => upstream.destroy());
  req.pipe(upstream);
}
