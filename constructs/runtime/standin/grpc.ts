/**
 * The stand-in's gRPC endpoint (Triton's port 8001): the two repository calls of `inference.GRPCInferenceService`.
 *
 * - Messages as in triton-inference-server/common r25.08 `protobuf/grpc_service.proto` (RepositoryModelLoadRequest:
 *   repository_name = 1, model_name = 2, parameters = 3; RepositoryModelUnloadRequest likewise); they are decoded here
 *   with protobufjs from that definition, independently of the router's own encoder.
 * - server r25.08 `src/grpc/grpc_server.cc` RegisterRepositoryModelLoad / Unload: each call runs on its own thread
 *   (`async` CommonCallData), so a load over gRPC blocks no HTTP worker; errors map to gRPC codes with
 *   `src/grpc/grpc_utils.cc` GrpcStatusUtil::CodeToStatus, the message in `grpc-message`.
 * - Framing: gRPC over HTTP/2 (a 5-byte prefix: compressed flag, big-endian length), status in trailers, or in the
 *   headers of a trailers-only answer (grpc/grpc `doc/PROTOCOL-HTTP2.md`).
 */
import * as http2 from 'http2';
import type { AddressInfo } from 'net';
import * as protobuf from 'protobufjs';
import { ModelTable, TritonError } from './models';

const PROTO = `
syntax = "proto3";
package inference;
message ModelRepositoryParameter {
  oneof parameter_choice { bool bool_param = 1; int64 int64_param = 2; string string_param = 3; bytes bytes_param = 4; }
}
message RepositoryModelLoadRequest {
  string repository_name = 1; string model_name = 2; map<string, ModelRepositoryParameter> parameters = 3;
}
message RepositoryModelUnloadRequest {
  string repository_name = 1; string model_name = 2; map<string, ModelRepositoryParameter> parameters = 3;
}
`;
const root = protobuf.parse(PROTO, { keepCase: true }).root;
export const LoadRequest = root.lookupType('inference.RepositoryModelLoadRequest');
const UnloadRequest = root.lookupType('inference.RepositoryModelUnloadRequest');

const SERVICE = '/inference.GRPCInferenceService/';

export interface GrpcStats {
  calls: number;
  /** Raw request messages received (after the 5-byte prefix), for tests of the client's encoding. */
  messages: Buffer[];
}

export interface RunningGrpc {
  readonly port: number;
  readonly stats: GrpcStats;
  close(): Promise<void>;
}

export function startGrpc(models: ModelTable, host: string, port: number): Promise<RunningGrpc> {
  const stats: GrpcStats = { calls: 0, messages: [] };
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path'] ?? '');
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const finish = (status: number, message = ''): void => {
        if (stream.destroyed) return;
        if (status !== 0) {
          // trailers-only answer
          stream.respond(
            {
              ':status': 200,
              'content-type': 'application/grpc',
              'grpc-status': String(status),
              'grpc-message': encodeURIComponent(message),
            },
            { endStream: true },
          );
          return;
        }
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 0])); // an empty response message
      };
      stats.calls++;
      const body = Buffer.concat(chunks);
      if (
        String(headers['content-type'] ?? '').split(';')[0] !== 'application/grpc' ||
        body.length < 5 ||
        body[0] !== 0 ||
        body.readUInt32BE(1) !== body.length - 5
      ) {
        finish(13, 'malformed gRPC request');
        return;
      }
      const msg = body.subarray(5);
      stats.messages.push(Buffer.from(msg));
      const call = path.startsWith(SERVICE) ? path.slice(SERVICE.length) : '';
      if (call !== 'RepositoryModelLoad' && call !== 'RepositoryModelUnload') {
        finish(12, `unknown method ${path}`);
        return;
      }
      let req: { repository_name?: string; model_name?: string };
      try {
        req = (call === 'RepositoryModelLoad' ? LoadRequest : UnloadRequest).decode(msg) as unknown as typeof req;
      } catch (e) {
        finish(13, `cannot parse request: ${(e as Error).message}`);
        return;
      }
      if (req.repository_name) {
        finish(12, "'repository_name' specification is not supported");
        return;
      }
      const name = req.model_name ?? '';
      if (call === 'RepositoryModelUnload') {
        models.unload(name);
        finish(0);
        return;
      }
      models.load(name).then(
        () => finish(0),
        (e: Error) => (e instanceof TritonError ? finish(e.grpcStatus, e.message) : finish(13, e.message)),
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        stats,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sessions) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
