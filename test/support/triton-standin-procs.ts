/**
 * Triton stand-ins and the router for router tests and benchmarks, on 127.0.0.1 with ephemeral ports: as real
 * processes (`startStandin`, `startRouter`: transpiled to JavaScript once and started with `node`) where the process is
 * what is tested, or in the test's own process (`startLocalStandin`, `startLocalRouter`) where it is not; plus a small
 * keep-alive HTTP client. Everything started here is tracked; `killAll()` ends it.
 */
import { ChildProcess, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import type { RunningStandin, StandinControl, StandinOptions, StandinStats } from '../../constructs/runtime/standin';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const RUNTIME = path.join(REPO_ROOT, 'constructs', 'runtime');
const STANDIN = path.join(RUNTIME, 'standin', 'triton-standin.ts');
const ROUTER_MAIN = path.join(RUNTIME, 'main.ts');

export interface Proc {
  readonly url: string;
  readonly port: number;
  /** Router: its admin port (state, repository view, load/unload); stand-in: absent. */
  readonly adminUrl?: string;
  /** Stand-in: its gRPC port, when started with `grpcPort`. */
  readonly grpcPort?: number;
  /** Stand-in: its metrics endpoint, when started with `metricsPort`. */
  readonly metricsUrl?: string;
  readonly child: ChildProcess;
  /** Everything the process wrote on stderr so far. */
  stderr(): string;
  /** Everything the process wrote on stdout so far. */
  stdout(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The fleet files the router imports (the Dockerfile's second COPY). */
export const ROUTER_FLEET_FILES = ['document.ts', 'errors.ts', 'input-file.ts', 'json-keys.ts', 'quote.ts', 'yaml-keys.ts'];

const live = new Set<ChildProcess>();

/** Every TypeScript file under `dir`, subfolders included. */
function tsFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/**
 * Transpiles the router and the stand-in (constructs/runtime, with standin/) to JavaScript, as the router image does:
 * processes then start in a fraction of a second instead of compiling TypeScript at every start. Returns the path of
 * the compiled file for `file`. The types are stripped by sucrase, as jest's transform does (test/support/transform.js):
 * loading the TypeScript compiler into each router test file cost more than the rest of the transpile.
 *
 * The output goes to build/router-procs-<hash of the sources>/ (git-ignored) and is reused by every test file and run
 * with the same sources: a transpile costs about half a second of CPU, once instead of once per file. It is written to
 * a folder of its own and renamed into place, so parallel jest workers never see a half-written copy; folders of
 * other sources are removed.
 */
let compiledDir: string | undefined;
function compiled(file: string): string {
  compiledDir ??= transpileOnce();
  return path.join(compiledDir, path.relative(REPO_ROOT, file)).replace(/\.ts$/, '.js');
}

const TRANSPILE = { transforms: ['typescript', 'imports'], disableESTransforms: true } as const;

function transpileOnce(): string {
  // the runtime and, as the Dockerfile copies them, the fleet files it imports
  const sources = [...tsFiles(RUNTIME), ...ROUTER_FLEET_FILES.map((f) => path.join(REPO_ROOT, 'constructs', 'fleet', f))].sort();
  const texts = sources.map((src) => fs.readFileSync(src, 'utf8'));
  const hash = crypto.createHash('sha256');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  hash.update(`${(require('sucrase/package.json') as { version: string }).version} ${JSON.stringify(TRANSPILE)}\n`);
  sources.forEach((src, i) => hash.update(`${path.relative(REPO_ROOT, src)}\n${texts[i]}\n`));
  const name = `router-procs-${hash.digest('hex').slice(0, 16)}`;
  const buildDir = path.join(REPO_ROOT, 'build');
  const dir = path.join(buildDir, name);
  if (fs.existsSync(path.join(dir, '.complete'))) return dir;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { transform } = require('sucrase') as typeof import('sucrase');
  const tmp = path.join(buildDir, `.${name}-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  sources.forEach((src, i) => {
    const out = path.join(tmp, path.relative(REPO_ROOT, src)).replace(/\.ts$/, '.js');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, transform(texts[i], { ...TRANSPILE, transforms: [...TRANSPILE.transforms], filePath: src }).code);
  });
  fs.writeFileSync(path.join(tmp, '.complete'), '');
  try {
    fs.renameSync(tmp, dir);
  } catch {
    // another worker renamed its identical copy first
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(path.join(dir, '.complete'))) throw new Error(`cannot transpile the router into ${dir}`);
  }
  for (const old of fs.readdirSync(buildDir)) {
    if (/^router-procs-/.test(old) && old !== name) fs.rmSync(path.join(buildDir, old), { recursive: true, force: true });
  }
  return dir;
}

/** Starts a TypeScript file as a process and resolves once it prints `listening on URL`. */
export function startProcess(file: string, args: string[], timeoutMs = 30000): Promise<Proc> {
  const js = compiled(file);
  const child = spawn(process.execPath, [js, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${path.basename(file)} did not print "listening on" within ${timeoutMs}ms; stderr: ${err}`)),
      timeoutMs,
    );
    const onData = (): void => {
      const m = /listening on (http:\/\/[^\s,]+)(.*)\n/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      const url = m[1];
      const admin = /admin on (http:\/\/[^\s,]+)/.exec(m[2])?.[1];
      const grpc = /grpc [^\s:]+:(\d+)/.exec(m[2])?.[1];
      const metrics = /metrics (http:\/\/[^\s,]+)/.exec(m[2])?.[1];
      resolve({
        url,
        port: Number(new URL(url).port),
        ...(admin ? { adminUrl: admin } : {}),
        ...(grpc ? { grpcPort: Number(grpc) } : {}),
        ...(metrics ? { metricsUrl: metrics } : {}),
        child,
        stderr: () => err,
        stdout: () => out,
        kill: (signal = 'SIGKILL') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    };
    child.stdout.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${path.basename(file)} exited with ${code} before listening; stderr: ${err}`));
    });
  });
}

export function startStandin(opts: StandinOptions = {}): Promise<Proc> {
  return startProcess(STANDIN, [JSON.stringify(opts)]);
}

/** A stand-in running inside the test's own process: what the router sees of it is the same HTTP and gRPC ports. */
export interface LocalStandin {
  readonly url: string;
  readonly port: number;
  readonly grpcPort?: number;
  readonly metricsUrl?: string;
  readonly standin: RunningStandin;
  /** Closes its ports and every connection to them (the router sees the backend go away). */
  kill(): Promise<void>;
}

const local = new Set<RunningStandin>();

/**
 * Starts a stand-in in this process (no child process to spawn: tens of milliseconds instead of a Node start), for
 * tests where the stand-in only has to answer as Triton does. Tests that freeze (SIGSTOP) or kill a backend's process
 * keep `startStandin`, and so does `npm run bench -- router` (a stand-in must not share the load generator's CPU).
 * `killAll()` closes it.
 */
export async function startLocalStandin(opts: StandinOptions = {}): Promise<LocalStandin> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startTritonStandin } = require('../../constructs/runtime/standin') as typeof import('../../constructs/runtime/standin');
  const s = await startTritonStandin(opts);
  local.add(s);
  return {
    url: s.url,
    port: s.port,
    ...(s.grpcPort !== undefined ? { grpcPort: s.grpcPort } : {}),
    ...(s.metricsUrl !== undefined ? { metricsUrl: s.metricsUrl } : {}),
    standin: s,
    kill: async () => {
      local.delete(s);
      await s.close();
    },
  };
}

/**
 * Writes `config` (an object) as a YAML-compatible JSON file and starts the router on it. An object config without
 * `admin` gets `admin: 127.0.0.1:0` (a free port: routers of parallel test files must not share 9001), and short
 * health/index timeouts unless given.
 */
export function startRouter(config: unknown, extraArgs: string[] = []): Promise<Proc> {
  const c =
    typeof config === 'object' && config !== null && !Array.isArray(config)
      ? { admin: '127.0.0.1:0', healthTimeoutSeconds: 1, indexTimeoutSeconds: 2, ...(config as Record<string, unknown>) }
      : config;
  return startProcess(ROUTER_MAIN, ['--config', writeConfig(c), ...extraArgs]);
}

/** The router running inside the test's own process: the same `Router` the CLI starts, on the same kind of config. */
export interface LocalRouter {
  readonly url: string;
  readonly port: number;
  readonly adminUrl?: string;
  readonly router: import('../../constructs/runtime/router').Router;
  /** Its log lines (`info|warn <message>`), as the process would write them on stderr without the time. */
  logs(): string;
  /** Stops it at once (no grace for requests in flight), as a killed process would stop answering. */
  kill(): Promise<void>;
}

const localRouters = new Set<LocalRouter>();

/**
 * Starts the router in this process, on `config` completed as `startRouter` completes it (an admin port on
 * 127.0.0.1:0, short health and index timeouts) and validated by `validateConfig` as the CLI validates its file: no
 * Node process to start and no config file to write, for tests of what the router does rather than of its process
 * (the `listening on` line, exit codes, signals, a restart: `startRouter`). `killAll()` stops it.
 */
export async function startLocalRouter(config: Record<string, unknown>): Promise<LocalRouter> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { Router } = require('../../constructs/runtime/router') as typeof import('../../constructs/runtime/router');
  const { validateConfig } = require('../../constructs/runtime/config') as typeof import('../../constructs/runtime/config');
  /* eslint-enable @typescript-eslint/no-require-imports */
  let logs = '';
  const router = new Router(validateConfig({ admin: '127.0.0.1:0', healthTimeoutSeconds: 1, indexTimeoutSeconds: 2, ...config }), {
    info: (m) => (logs += `info ${m}\n`),
    warn: (m) => (logs += `warn ${m}\n`),
  });
  const addr = await router.start();
  let stopped: Promise<void> | undefined;
  const handle: LocalRouter = {
    url: `http://${addr.host}:${addr.port}`,
    port: addr.port,
    ...(addr.admin ? { adminUrl: `http://${addr.admin.host}:${addr.admin.port}` } : {}),
    router,
    logs: () => logs,
    kill: () => {
      localRouters.delete(handle);
      return (stopped ??= router.close(0));
    },
  };
  localRouters.add(handle);
  return handle;
}

/** Runs the router CLI to completion (for config errors); resolves with exit code and output. */
export function runRouter(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [compiled(ROUTER_MAIN), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      resolve({ code, stdout, stderr });
    }),
  );
}

let tmpDir: string | undefined;
let seq = 0;
export function writeConfig(config: unknown): string {
  tmpDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'gpufleet-router-'));
  const file = path.join(tmpDir, `router-${process.pid}-${++seq}.yaml`);
  fs.writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return file;
}

/** Kills every process started here (SIGKILL) and waits for them; stops every in-process router and stand-in. */
export async function killAll(): Promise<void> {
  const waits = [...live].map(
    (c) =>
      new Promise<void>((r) => {
        if (c.exitCode !== null || c.signalCode !== null) return r();
        c.once('exit', () => r());
        c.kill('SIGKILL');
      }),
  );
  await Promise.all([...localRouters].map((r) => r.kill()));
  await Promise.all([...waits, ...[...local].map((s) => s.close())]);
  local.clear();
  agent.destroy();
}

export const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  json(): any;
}

/** One HTTP request; rejects only on connection errors. */
export function request(
  base: string,
  method: string,
  p: string,
  body?: unknown,
  opts: { agent?: http.Agent | false; timeoutMs?: number } = {},
): Promise<Reply> {
  const u = new URL(base);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path: p,
        agent: opts.agent === undefined ? agent : opts.agent,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`no answer within ${opts.timeoutMs}ms`)));
    req.end(payload);
  });
}

/** A small KServe v2 infer request body. */
export function inferBody(id?: string): unknown {
  return { ...(id ? { id } : {}), inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] };
}

export function infer(base: string, model: string, id?: string): Promise<Reply> {
  return request(base, 'POST', `/v2/models/${model}/infer`, inferBody(id));
}

export async function standinStats(base: string): Promise<StandinStats> {
  return (await request(base, 'GET', '/_standin/stats')).json();
}

/** The router's `/router/state` (on its admin port). */
export async function routerState(router: { readonly adminUrl?: string } | string): Promise<any> {
  const base = typeof router === 'string' ? router : router.adminUrl!;
  return (await request(base, 'GET', '/router/state')).json();
}

/** Changes a stand-in's index behaviour, failing or held models at run time. */
export async function standinControl(base: string, control: StandinControl): Promise<void> {
  const r = await request(base, 'POST', '/_standin/control', control);
  if (r.status !== 200) throw new Error(`stand-in control: HTTP ${r.status} ${r.body}`);
}

/** Polls `check` every 20 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
