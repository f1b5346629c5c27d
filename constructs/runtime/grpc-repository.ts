/**
 * Triton's repository calls over gRPC (port 8001), without a gRPC library: one HTTP/2 session per backend and a
 * hand-encoded `RepositoryModelLoadRequest`.
 *
 * Why gRPC for loads: over HTTP, Triton runs a load on one of its `--http-thread-count` (default 8) evhtp workers for
 * the whole load, and every connection that worker serves stalls meanwhile, the router's own keep-alive connections
 * included (server r25.08 `src/http_server.cc` HandleRepositoryControl; server#8958). Over gRPC each
 * RepositoryModelLoad runs on its own thread (server r25.08 `src/grpc/grpc_server.cc`, `async` CommonCallData) and
 * no HTTP worker waits.
 *
 * Wire format (triton-inference-server/common r25.08 `protobuf/grpc_service.proto`):
 * `message RepositoryModelLoadRequest { string repository_name = 1; string model_name = 2; map<...> parameters = 3; }`,
 * so a load of model `m` is the single field 2 (tag 0x12, length-delimited); the gRPC message is prefixed with a
 * compressed flag (0) and its big-endian length, and the status comes as `grpc-status` / `grpc-message` trailers,
 * or in the headers of a trailers-only answer (grpc `doc/PROTOCOL-HTTP2.md`).
 */
import * as http2 from 'http2';

const LOAD_PATH = '/inference.GRPCInferenceService/RepositoryModelLoad';

/** gRPC status codes Triton uses (server `src/grpc/grpc_utils.cc` GrpcStatusUtil::CodeToStatus). */
export const GRPC_STATUS_NAMES: Readonly<Record<number, string>> = {
  0: 'OK',
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
};

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** The gRPC frame of `RepositoryModelLoadRequest { model_name: model }`. */
export function encodeLoadRequest(model: string): Buffer {
  const name = Buffer.from(model, 'utf8');
  const msg = Buffer.concat([Buffer.from([0x12, ...varint(name.length)]), name]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(msg.length, 1);
  return Buffer.concat([prefix, msg]);
}

/** The outcome of one call: gRPC status 0 is success; a connection failure rejects instead. */
export interface GrpcReply {
  readonly status: number;
  readonly message: string;
}

/** Connection-level failure (refused, reset, no answer in time). */
export class GrpcUnreachable extends Error {
  constructor(
    readonly cause: string,
    readonly timedOut = false,
  ) {
    super(cause);
  }
}

/** One HTTP/2 session to a backend's gRPC port, reopened when it closes. */
export class GrpcRepository {
  private session?: http2.ClientHttp2Session;

  constructor(readonly authority: string) {}

  private connect(): http2.ClientHttp2Session {
    const s = this.session;
    if (s && !s.closed && !s.destroyed) return s;
    const fresh = http2.connect(this.authority);
    fresh.on('error', () => undefined); // reported through the stream
    fresh.on('close', () => {
      if (this.session === fresh) this.session = undefined;
    });
    // the session does not keep the router process alive
    fresh.unref();
    this.session = fresh;
    return fresh;
  }

  /** `RepositoryModelLoad` of `model`; resolves with the gRPC status, rejects with GrpcUnreachable. */
  load(model: string, timeoutMs: number): Promise<GrpcReply> {
    return new Promise((resolve, reject) => {
      let settled = false;
      let status: number | undefined;
      let message = '';
      const take = (h: http2.IncomingHttpHeaders): void => {
        if (h['grpc-status'] !== undefined) {
          status = Number(h['grpc-status']);
          const m = h['grpc-message'];
          try {
            message = decodeURIComponent(String(m ?? ''));
          } catch {
            message = String(m ?? '');
          }
        }
      };
      const fail = (cause: string, timedOut = false): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stream?.close(http2.constants.NGHTTP2_CANCEL);
        reject(new GrpcUnreachable(cause, timedOut));
      };
      let stream: http2.ClientHttp2Stream | undefined;
      const timer = setTimeout(() => fail(`no answer to RepositoryModelLoad within ${timeoutMs / 1000}s`, true), timeoutMs);
      try {
        stream = this.connect().request({
          ':method': 'POST',
          ':path': LOAD_PATH,
          'content-type': 'application/grpc',
          te: 'trailers',
        });
      } catch (e) {
        fail((e as NodeJS.ErrnoException).code ?? (e as Error).message);
        return;
      }
      stream.on('response', take);
      stream.on('trailers', take);
      stream.on('data', () => undefined);
      stream.on('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
      stream.on('close', () => {
        if (settled) return;
        if (status === undefined) {
          fail(`gRPC stream closed without a status (HTTP/2 code ${stream.rstCode})`);
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve({ status, message });
      });
      stream.end(encodeLoadRequest(model));
    });
  }

  close(): void {
    this.session?.destroy();
    this.session = undefined;
  }
}
