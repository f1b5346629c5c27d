/**
 * Router configuration: types, defaults and validation of the YAML/JSON file given to
 * `gpufleet router --config FILE`. Every error names the path, the value received (quoted and bounded,
 * `quote`) and what is allowed. The file is read like a fleet file: a regular file of at most 16 MiB,
 * YAML with an alias limit and linear duplicate-key checks (`parseFleetDocument`, fleet/document.ts). Every number has an
 * upper bound (`ROUTER_LIMITS`): timers at most what Node can arm, queues of at least one request.
 */
// fleet files without imports beyond yaml and each other: the router image compiles them with the runtime (Dockerfile)
import { parseFleetDocument } from '../fleet/document';
import { FleetValidationError } from '../fleet/errors';
import { InputFileError, readInputFile } from '../fleet/input-file';
import { quote, quoteKey } from '../fleet/quote';

export const GIB = 1024 * 1024 * 1024;

/**
 * Upper bounds of the router's numbers (docs/router.md, "Limits"). A Node timer longer than 2^31 - 1 ms fires
 * after 1 ms (Node's lib/internal/timers.js: "TimeoutOverflowWarning ... Timeout duration was set to 1"), so
 * every duration is at most `maxTimerSeconds`.
 */
export const ROUTER_LIMITS = {
  /** Longest duration of any timer setting, in seconds: floor((2^31 - 1) / 1000), about 24.8 days. */
  maxTimerSeconds: 2147483,
  /** Most requests waiting for one model to load. */
  maxQueuePerModel: 1_000_000,
  /** Most backends and most models in one config. */
  maxBackends: 1000,
  maxModels: 10_000,
  /** Largest memory budget of one backend (a whole node's GPUs) and largest model, in GiB. */
  maxBackendMemoryGiB: 65536,
  maxModelMemoryGiB: 1024,
} as const;

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
  /** Longest a forwarded request waits with no byte from its backend (then 504), 0 = no limit. @default 300 */
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

/**
 * Default `requestTimeoutSeconds`: a backend that stops sending (a hung server, a lost connection without a
 * reset) frees the client and the router's socket after this long without a byte, instead of never.
 */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 300;

/** Triton's default `--http-thread-count`: loads over HTTP must leave HTTP workers free for everything else. */
export const TRITON_HTTP_THREADS = 8;

export class ConfigError extends Error {}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$/i;
const KNOWN_TOP = [
  'listen',
  'admin',
  'backends',
  'models',
  'maxQueuePerModel',
  'loadTimeoutSeconds',
  'refreshIntervalSeconds',
  'requestTimeoutSeconds',
  'loadFailureBackoffSeconds',
  'maxLoadsPerBackend',
  'unloadWaitSeconds',
  'indexTimeoutSeconds',
  'healthTimeoutSeconds',
];
const KNOWN_BACKEND = ['name', 'url', 'memoryGiB', 'discover', 'grpcPort'];
const KNOWN_MODEL = ['name', 'memoryGiB', 'pinned'];

function fail(path: string, expected: string, got: unknown): never {
  throw new ConfigError(`${path}: expected ${expected}, got ${quote(got)}`);
}

function checkKeys(obj: Record<string, unknown>, known: readonly string[], path: string): void {
  for (const k of Object.keys(obj).sort()) {
    if (!known.includes(k)) {
      const key = quoteKey(k);
      throw new ConfigError(`${path && !key.startsWith('[') ? path + '.' : path}${key}: unknown key, allowed: ${known.join(', ')}`);
    }
  }
}

function positive(v: unknown, path: string, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max) fail(path, `a number > 0 and <= ${max}`, v);
  return v;
}

function optionalNumber(v: unknown, path: string, dflt: number, min: number, max: number, integer: boolean): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    fail(path, `${integer ? 'an integer' : 'a number'} >= ${min} and <= ${max}`, v);
  }
  return v;
}

/** A duration in seconds, from `min` to what a Node timer can hold. */
function optionalSeconds(v: unknown, path: string, dflt: number, min: number): number {
  return optionalNumber(v, path, dflt, min, ROUTER_LIMITS.maxTimerSeconds, false);
}

function list(v: unknown, path: string, max: number, what: string, required: boolean): unknown[] {
  if (!Array.isArray(v) || (required && v.length === 0)) fail(path, required ? 'a non-empty list' : 'a list', v);
  if (v.length > max) throw new ConfigError(`${path}: expected at most ${max} ${what}, got ${v.length}`);
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
    if (seen.has(v)) throw new ConfigError(`${list}[${i}].${field}: ${quote(v)} is already used by ${list}[${seen.get(v)}]`);
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

  const backends = list(raw.backends, 'backends', ROUTER_LIMITS.maxBackends, 'backends', true).map(
    (b: unknown, i: number): BackendConfig => {
      const p = `backends[${i}]`;
      if (typeof b !== 'object' || b === null || Array.isArray(b)) fail(p, 'a mapping with name, url, memoryGiB', b);
      const o = b as Record<string, unknown>;
      checkKeys(o, KNOWN_BACKEND, p);
      const discover = o.discover ?? 'none';
      if (discover !== 'none' && discover !== 'dns') fail(`${p}.discover`, '"none" or "dns"', o.discover);
      const g = o.grpcPort;
      if (g !== undefined && (typeof g !== 'number' || !Number.isInteger(g) || g < 1 || g > 65535))
        fail(`${p}.grpcPort`, 'an integer from 1 to 65535', g);
      return {
        name: name(o.name, `${p}.name`),
        url: backendUrl(o.url, `${p}.url`),
        memoryGiB: positive(o.memoryGiB, `${p}.memoryGiB`, ROUTER_LIMITS.maxBackendMemoryGiB),
        discover,
        ...(g !== undefined ? { grpcPort: g } : {}),
      };
    },
  );
  checkUnique(backends, 'backends', 'name');
  checkUnique(backends, 'backends', 'url');

  const models = list(raw.models ?? [], 'models', ROUTER_LIMITS.maxModels, 'models', false).map((m: unknown, i: number): ModelConfig => {
    const p = `models[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) fail(p, 'a mapping with name, memoryGiB', m);
    const o = m as Record<string, unknown>;
    checkKeys(o, KNOWN_MODEL, p);
    if (o.pinned !== undefined && typeof o.pinned !== 'boolean') fail(`${p}.pinned`, 'true or false', o.pinned);
    return {
      name: name(o.name, `${p}.name`),
      memoryGiB: positive(o.memoryGiB, `${p}.memoryGiB`, ROUTER_LIMITS.maxModelMemoryGiB),
      pinned: o.pinned === true,
    };
  });
  checkUnique(models, 'models', 'name');

  const maxBudget = Math.max(...backends.map((b) => b.memoryGiB));
  const pinnedGiB = models.filter((m) => m.pinned).reduce((s, m) => s + m.memoryGiB, 0);
  const totalGiB = backends.filter((b) => b.discover === 'none').reduce((s, b) => s + b.memoryGiB, 0);
  models.forEach((m, i) => {
    if (m.pinned && m.memoryGiB > maxBudget) {
      throw new ConfigError(
        `models[${i}].memoryGiB: pinned model "${m.name}" needs ${m.memoryGiB} GiB, more than the largest backend budget ${maxBudget} GiB`,
      );
    }
  });
  if (backends.every((b) => b.discover === 'none') && pinnedGiB > totalGiB) {
    throw new ConfigError(`models: pinned models need ${pinnedGiB} GiB, more than all backend budgets together (${totalGiB} GiB)`);
  }

  const maxLoads = optionalNumber(raw.maxLoadsPerBackend, 'maxLoadsPerBackend', 2, 1, Infinity, true);
  if (maxLoads > TRITON_HTTP_THREADS - 1) {
    fail(
      'maxLoadsPerBackend',
      `an integer from 1 to ${TRITON_HTTP_THREADS - 1} ` +
        `(below Triton's ${TRITON_HTTP_THREADS} HTTP workers: a load over HTTP holds one for its whole duration)`,
      raw.maxLoadsPerBackend,
    );
  }
  return {
    host,
    port,
    ...(admin ? { admin } : {}),
    backends,
    models,
    // at least 1: a queue of 0 would refuse every request for a model that is not loaded, for good
    maxQueuePerModel: optionalNumber(raw.maxQueuePerModel, 'maxQueuePerModel', 256, 1, ROUTER_LIMITS.maxQueuePerModel, true),
    loadTimeoutSeconds: optionalSeconds(raw.loadTimeoutSeconds, 'loadTimeoutSeconds', 120, 0.001),
    refreshIntervalSeconds: optionalSeconds(raw.refreshIntervalSeconds, 'refreshIntervalSeconds', 10, 0.05),
    requestTimeoutSeconds: optionalSeconds(raw.requestTimeoutSeconds, 'requestTimeoutSeconds', DEFAULT_REQUEST_TIMEOUT_SECONDS, 0),
    loadFailureBackoffSeconds: optionalSeconds(raw.loadFailureBackoffSeconds, 'loadFailureBackoffSeconds', 5, 0),
    maxLoadsPerBackend: maxLoads,
    unloadWaitSeconds: optionalSeconds(raw.unloadWaitSeconds, 'unloadWaitSeconds', 60, 0.001),
    indexTimeoutSeconds: optionalSeconds(raw.indexTimeoutSeconds, 'indexTimeoutSeconds', 10, 0.001),
    healthTimeoutSeconds: optionalSeconds(raw.healthTimeoutSeconds, 'healthTimeoutSeconds', 2, 0.001),
  };
}

/**
 * Reads and validates a config file (YAML or JSON; JSON is YAML): a regular file of at most 16 MiB, refused
 * before reading otherwise (`/dev/zero`, a folder, a FIFO); YAML aliases and duplicate keys are checked as in
 * fleet files.
 */
export function loadConfigFile(file: string): RouterConfig {
  let text: string;
  try {
    text = readInputFile(file, { what: '--config' });
  } catch (e) {
    if (e instanceof InputFileError) throw new ConfigError(e.problems[0]);
    throw e;
  }
  // the path as given when it is printable and short, else quoted and bounded
  const name = /^[\x20-\x7e]{1,200}$/.test(file) ? file : quote(file);
  let doc: unknown;
  try {
    doc = parseFleetDocument(text, name);
  } catch (e) {
    if (e instanceof FleetValidationError)
      throw new ConfigError(e.problems[0].startsWith(name) ? e.problems[0] : `${name}: ${e.problems[0]}`);
    throw e;
  }
  try {
    return validateConfig(doc);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${name}: ${e.message}`);
    throw e;
  }
}
