/**
 * Router configuration: types, defaults and validation of the YAML/JSON file given to
 * `gpufleet router --config FILE`. Every error names the path, the value received and what is allowed.
 */
import { readFileSync } from 'fs';
import { parse as parseYaml } from 'yaml';

export const GIB = 1024 * 1024 * 1024;

/** A Triton server (or, with `discover: dns`, every address a DNS name resolves to). */
export interface BackendConfig {
  /** Unique name, used in metrics and logs. */
  readonly name: string;
  /** Base URL of Triton's HTTP endpoint, `http://host:port` (no path). */
  readonly url: string;
  /** GPU memory this router may fill with models on that server, in GiB (> 0). */
  readonly memoryGiB: number;
  /**
   * `dns`: resolve the URL's host at every refresh and treat each address as one backend
   * (a headless Service in front of a Triton pool); `none`: one backend at that URL.
   * @default 'none'
   */
  readonly discover: 'none' | 'dns';
  /**
   * Port of Triton's gRPC endpoint on the same host. When set, models are loaded with gRPC `RepositoryModelLoad`,
   * which blocks none of Triton's HTTP workers; otherwise with `POST /v2/repository/models/{m}/load` over HTTP, which
   * holds one HTTP worker (of `--http-thread-count`, default 8) for the whole load.
   * @default - loads over HTTP
   */
  readonly grpcPort?: number;
}

export interface ModelConfig {
  /** Model name as Triton's repository knows it. */
  readonly name: string;
  /** GPU memory one loaded copy takes, in GiB (> 0). */
  readonly memoryGiB: number;
  /** Loaded at start on one backend and never evicted. @default false */
  readonly pinned: boolean;
}

export interface RouterConfig {
  readonly host: string;
  readonly port: number;
  /** Where the router's own state and control endpoints listen; undefined: nowhere. @default 127.0.0.1:9001 */
  readonly admin?: { readonly host: string; readonly port: number };
  readonly backends: readonly BackendConfig[];
  readonly models: readonly ModelConfig[];
  /** Requests that may wait for one model to load; beyond it: 503 + Retry-After. @default 256 */
  readonly maxQueuePerModel: number;
  /** Longest wait for one load (and for room to load it). @default 120 */
  readonly loadTimeoutSeconds: number;
  /** How often each backend's repository index is read (adoption, health). @default 10 */
  readonly refreshIntervalSeconds: number;
  /** Longest wait for a backend's answer to an infer/metadata request, 0 = none. @default 0 */
  readonly requestTimeoutSeconds: number;
  /** After a backend refuses to load a model, requests for it get the same 503 without a new load for this long. @default 5 */
  readonly loadFailureBackoffSeconds: number;
  /** Loads one backend runs at once (each holds a Triton HTTP worker when loading over HTTP). @default 2 */
  readonly maxLoadsPerBackend: number;
  /** Longest wait for evicted models to be destroyed (index: UNAVAILABLE/unloaded) before loading into their memory. @default 60 */
  readonly unloadWaitSeconds: number;
  /** Longest wait for a backend's repository index (a listing of the whole repository). @default 10 */
  readonly indexTimeoutSeconds: number;
  /** Longest wait for a backend's `GET /v2/health/live`, which decides whether it is up. @default 2 */
  readonly healthTimeoutSeconds: number;
}

/** Triton's default `--http-thread-count`: loads over HTTP must leave HTTP workers free for everything else. */
export const TRITON_HTTP_THREADS = 8;

export class ConfigError extends Error {}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$/i;
const KNOWN_TOP = [
  'listen', 'admin', 'backends', 'models', 'maxQueuePerModel', 'loadTimeoutSeconds', 'refreshIntervalSeconds', 'requestTimeoutSeconds',
  'loadFailureBackoffSeconds', 'maxLoadsPerBackend', 'unloadWaitSeconds', 'indexTimeoutSeconds', 'healthTimeoutSeconds',
];
const KNOWN_BACKEND = ['name', 'url', 'memoryGiB', 'discover', 'grpcPort'];
const KNOWN_MODEL = ['name', 'memoryGiB', 'pinned'];

function show(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

function fail(path: string, expected: string, got: unknown): never {
  throw new ConfigError(`${path}: expected ${expected}, got ${show(got)}`);
}

function checkKeys(obj: Record<string, unknown>, known: readonly string[], path: string): void {
  for (const k of Object.keys(obj).sort()) {
    if (!known.includes(k)) {
      throw new ConfigError(`${path ? path + '.' : ''}${k}: unknown key, allowed: ${known.join(', ')}`);
    }
  }
}

function positive(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(path, 'a number > 0', v);
  return v;
}

function optionalNumber(v: unknown, path: string, dflt: number, min: number, integer: boolean): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    fail(path, `${integer ? 'an integer' : 'a number'} >= ${min}`, v);
  }
  return v;
}

function name(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 253 || !DNS_SUBDOMAIN.test(v)) {
    fail(path, 'a name of letters, digits, "-", "_" or "." (at most 253 characters)', v);
  }
  return v;
}

/** Throws on the first entry of `list` whose `field` repeats an earlier entry's. */
function checkUnique<T, K extends keyof T & string>(items: readonly T[], list: string, field: K): void {
  const seen = new Map<T[K], number>();
  items.forEach((item, i) => {
    const v = item[field];
    if (seen.has(v)) throw new ConfigError(`${list}[${i}].${field}: "${v}" is already used by ${list}[${seen.get(v)}]`);
    seen.set(v, i);
  });
}

/** Parses `host:port` (port 0 = any free port); a bare port listens on loopback. */
export function parseListen(v: unknown, path = 'listen', dflt = 9000): { host: string; port: number } {
  if (v === undefined) return { host: '127.0.0.1', port: dflt };
  const s = typeof v === 'number' ? `127.0.0.1:${v}` : v;
  const m = typeof s === 'string' ? /^(\[[0-9a-f:]+\]|[^:\s]+):(\d{1,5})$/i.exec(s) : null;
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) fail(path, 'HOST:PORT with a port from 0 to 65535', v);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

function backendUrl(v: unknown, path: string): string {
  let u: URL | undefined;
  try {
    u = typeof v === 'string' ? new URL(v) : undefined;
  } catch {
    u = undefined;
  }
  if (!u || u.protocol !== 'http:' || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) {
    fail(path, 'an http:// URL without path, e.g. http://127.0.0.1:8000', v);
  }
  return `http://${u.host}`;
}

/** Validates a parsed document and fills defaults. */
export function validateConfig(doc: unknown): RouterConfig {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('(root)', 'a mapping', doc);
  const raw = doc as Record<string, unknown>;
  checkKeys(raw, KNOWN_TOP, '');
  const { host, port } = parseListen(raw.listen);
  const admin = raw.admin === false ? undefined : parseListen(raw.admin, 'admin', 9001);
  if (admin && admin.port !== 0 && admin.port === port && admin.host === host) {
    fail('admin', `an address other than listen (${host}:${port})`, raw.admin);
  }

  if (!Array.isArray(raw.backends) || raw.backends.length === 0) fail('backends', 'a non-empty list', raw.backends);
  const backends = raw.backends.map((b: unknown, i: number): BackendConfig => {
    const p = `backends[${i}]`;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) fail(p, 'a mapping with name, url, memoryGiB', b);
    const o = b as Record<string, unknown>;
    checkKeys(o, KNOWN_BACKEND, p);
    const discover = o.discover ?? 'none';
    if (discover !== 'none' && discover !== 'dns') fail(`${p}.discover`, '"none" or "dns"', o.discover);
    const g = o.grpcPort;
    if (g !== undefined && (typeof g !== 'number' || !Number.isInteger(g) || g < 1 || g > 65535)) fail(`${p}.grpcPort`, 'an integer from 1 to 65535', g);
    return {
      name: name(o.name, `${p}.name`),
      url: backendUrl(o.url, `${p}.url`),
      memoryGiB: positive(o.memoryGiB, `${p}.memoryGiB`),
      discover,
      ...(g !== undefined ? { grpcPort: g as number } : {}),
    };
  });
  checkUnique(backends, 'backends', 'name');
  checkUnique(backends, 'backends', 'url');

  const rawModels = raw.models ?? [];
  if (!Array.isArray(rawModels)) fail('models', 'a list', raw.models);
  const models = rawModels.map((m: unknown, i: number): ModelConfig => {
    const p = `models[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) fail(p, 'a mapping with name, memoryGiB', m);
    const o = m as Record<string, unknown>;
    checkKeys(o, KNOWN_MODEL, p);
    if (o.pinned !== undefined && typeof o.pinned !== 'boolean') fail(`${p}.pinned`, 'true or false', o.pinned);
    return { name: name(o.name, `${p}.name`), memoryGiB: positive(o.memoryGiB, `${p}.memoryGiB`), pinned: o.pinned === true };
  });
  checkUnique(models, 'models', 'name');

  const maxBudget = Math.max(...backends.map((b) => b.memoryGiB));
  const pinnedGiB = models.filter((m) => m.pinned).reduce((s, m) => s + m.memoryGiB, 0);
  const totalGiB = backends.filter((b) => b.discover === 'none').reduce((s, b) => s + b.memoryGiB, 0);
  models.forEach((m, i) => {
    if (m.pinned && m.memoryGiB > maxBudget) {
      throw new ConfigError(`models[${i}].memoryGiB: pinned model "${m.name}" needs ${m.memoryGiB} GiB, more than the largest backend budget ${maxBudget} GiB`);
    }
  });
  if (backends.every((b) => b.discover === 'none') && pinnedGiB > totalGiB) {
    throw new ConfigError(`models: pinned models need ${pinnedGiB} GiB, more than all backend budgets together (${totalGiB} GiB)`);
  }

  const maxLoads = optionalNumber(raw.maxLoadsPerBackend, 'maxLoadsPerBackend', 2, 1, true);
  if (maxLoads > TRITON_HTTP_THREADS - 1) {
    fail('maxLoadsPerBackend', `an integer from 1 to ${TRITON_HTTP_THREADS - 1} (below Triton's ${TRITON_HTTP_THREADS} HTTP workers: a load over HTTP holds one for its whole duration)`, raw.maxLoadsPerBackend);
  }
  return {
    host,
    port,
    ...(admin ? { admin } : {}),
    backends,
    models,
    maxQueuePerModel: optionalNumber(raw.maxQueuePerModel, 'maxQueuePerModel', 256, 0, true),
    loadTimeoutSeconds: optionalNumber(raw.loadTimeoutSeconds, 'loadTimeoutSeconds', 120, 0.001, false),
    refreshIntervalSeconds: optionalNumber(raw.refreshIntervalSeconds, 'refreshIntervalSeconds', 10, 0.05, false),
    requestTimeoutSeconds: optionalNumber(raw.requestTimeoutSeconds, 'requestTimeoutSeconds', 0, 0, false),
    loadFailureBackoffSeconds: optionalNumber(raw.loadFailureBackoffSeconds, 'loadFailureBackoffSeconds', 5, 0, false),
    maxLoadsPerBackend: maxLoads,
    unloadWaitSeconds: optionalNumber(raw.unloadWaitSeconds, 'unloadWaitSeconds', 60, 0.001, false),
    indexTimeoutSeconds: optionalNumber(raw.indexTimeoutSeconds, 'indexTimeoutSeconds', 10, 0.001, false),
    healthTimeoutSeconds: optionalNumber(raw.healthTimeoutSeconds, 'healthTimeoutSeconds', 2, 0.001, false),
  };
}

/** Reads and validates a config file (YAML or JSON; JSON is YAML). */
export function loadConfigFile(file: string): RouterConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`--config: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    return validateConfig(doc);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${file}: ${e.message}`);
    throw e;
  }
}
