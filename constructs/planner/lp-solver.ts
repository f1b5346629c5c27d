/**
 * The LP/MIP solver the planner uses for its tight lower bound and its neighbourhood repair:
 * HiGHS (University of Edinburgh) compiled to WebAssembly, the `highs` npm package.
 *
 * `highs` loads asynchronously (WebAssembly instantiation), but a loaded solver solves
 * synchronously. So that `plan()` stays a plain synchronous function — constructs call it in
 * their constructors — HiGHS runs in a worker thread: `solveLp` posts the model to the worker and
 * blocks on `Atomics.wait` until the worker has answered, then takes the answer with
 * `receiveMessageOnPort`. The worker is started once per process, on first use (or early with
 * `warmUpSolver()`), and is `unref`'d, so it never keeps a process alive.
 *
 * Determinism: HiGHS runs single-threaded and every budget the planner gives it is a count
 * (branch-and-bound nodes, simplex iterations), never a clock, so the same model always gives the
 * same answer. A wall-clock `time_limit` is set only as a safety net far above any expected solve.
 */
import { createHash } from 'crypto';
import { setFlagsFromString } from 'v8';
import { MessageChannel, receiveMessageOnPort, Worker } from 'worker_threads';
import type { MessagePort } from 'worker_threads';

/** A linear model: minimise `colCost · x` subject to `rowLower <= A x <= rowUpper`, `colLower <= x <= colUpper`. */
export interface LpModel {
  readonly numCols: number;
  readonly numRows: number;
  readonly colCost: Float64Array;
  readonly colLower: Float64Array;
  readonly colUpper: Float64Array;
  readonly rowLower: Float64Array;
  readonly rowUpper: Float64Array;
  /** Column-wise (CSC) matrix: column j's entries are `starts[j]..starts[j+1]` of `indices` (rows) and `values`. */
  readonly starts: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float64Array;
  /** 1 for an integer column, 0 for a continuous one; absent = all continuous (an LP). */
  readonly integrality?: Int32Array;
}

export interface LpOptions {
  /** Branch-and-bound node budget of a MIP (deterministic). @default 2000 */
  readonly maxNodes?: number;
  /** Simplex iteration budget (deterministic). @default - HiGHS's default (no limit) */
  readonly maxIterations?: number;
  /** Stop a MIP as soon as any feasible solution is found (the repair needs one, not the best). @default false */
  readonly firstSolution?: boolean;
  /** Relative MIP gap at which HiGHS stops. @default 1e-6 */
  readonly mipRelGap?: number;
  /** Safety net only (seconds, wall clock); budgets are counts. @default 60 */
  readonly safetySeconds?: number;
  /**
   * HiGHS's presolve. Off, the tight bound's LP (thousands of columns, few rows, little to remove) solves in
   * about 2/3 of the time on 300-10,000-model fleets (`npm run bench -- cli`); a MIP keeps it.
   * @default true
   */
  readonly presolve?: boolean;
}

export type LpStatus = 'optimal' | 'infeasible' | 'limit' | 'unbounded' | 'error';

export interface LpResult {
  readonly status: LpStatus;
  /** Objective of the solution found (NaN without one). */
  readonly objective: number;
  /**
   * Proven lower bound on the optimum (minimisation): the objective for an optimal LP; HiGHS's
   * MIP dual bound for a MIP (equal to the objective when solved to optimality).
   */
  readonly dualBound: number;
  /** Primal values (empty without a solution). */
  readonly values: Float64Array;
  /** Row duals of an optimal LP (empty otherwise); reduced cost of a column = cost - sum of duals x its entries. */
  readonly rowDuals: Float64Array;
  /** True when `values` is a feasible solution. */
  readonly feasible: boolean;
  /** Branch-and-bound nodes and simplex iterations used (deterministic measures of work). */
  readonly nodes: number;
  readonly iterations: number;
  /** Set for status `error`: why. */
  readonly message?: string;
}

/** Version of the embedded HiGHS, e.g. `HiGHS 1.15.3`, once the worker has answered; `HiGHS` before. */
export function solverName(): string {
  return bridge?.version ? `HiGHS ${bridge.version}` : 'HiGHS';
}

interface Bridge {
  readonly worker: Worker;
  readonly port: MessagePort;
  /** Answers posted by the worker so far (the worker adds 1 and notifies after each). */
  readonly answered: Int32Array;
  /** Requests posted, and answers taken from the port but not yet claimed, by request id. */
  sent: number;
  readonly received: Map<number, unknown>;
  version?: string;
  broken?: string;
}

let bridge: Bridge | undefined;

/**
 * The worker: loads highs once, then answers each model posted on its port, in order. Plain JavaScript (run with
 * `eval`). With `warmUp`, it first solves a small built-in LP (see `WarmUpOptions.warmUpSolve`), answering nothing,
 * unless a model has been posted by the time HiGHS has loaded.
 */
const WORKER_SOURCE = `
const { receiveMessageOnPort, workerData } = require('worker_threads');
const { port, flag, highsPath, warmUp } = workerData;
const answered = new Int32Array(flag);
const answer = (msg) => { port.postMessage(msg); Atomics.add(answered, 0, 1); Atomics.notify(answered, 0); };
const createModel = (highs, req) => highs.createModel({
  numCols: req.numCols, numRows: req.numRows, colCost: req.colCost, colLower: req.colLower, colUpper: req.colUpper,
  rowLower: req.rowLower, rowUpper: req.rowUpper,
  matrix: { format: 'csc', numRows: req.numRows, numCols: req.numCols, starts: req.starts, indices: req.indices, values: req.values },
  ...(req.integrality ? { integrality: req.integrality } : {}),
});
// a small LP shaped like the tight bound's (shape capacity rows, layout columns, demand and seat rows per model,
// served-time columns), from a fixed sequence: solving it compiles the simplex code a first real solve would
const warmUpLp = () => {
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  const S = 7, M = 30, E = 3;
  const cost = [], upper = [], starts = [0], indices = [], values = [], rowLower = [], rowUpper = [];
  const row = (lo, hi) => (rowLower.push(lo), rowUpper.push(hi), rowLower.length - 1);
  const col = (c, entries) => {
    cost.push(c); upper.push(1e30);
    for (const [r, v] of entries) { indices.push(r); values.push(v); }
    starts.push(indices.length);
  };
  const shape = [], time = [], lat = [];
  for (let s = 0; s < S; s++) { shape.push(row(-1e30, 0)); time.push(row(-1e30, 0)); lat.push(row(-1e30, 0)); }
  for (let s = 0; s < S; s++) col(0, [[shape[s], 1], [time[s], -1], [lat[s], -(1 + s)]]);
  for (let l = 0; l < 2 * S; l++) {
    const entries = [];
    for (let s = 0; s < S; s++) if ((l + s) % 3 !== 0) entries.push([shape[s], -(1 + ((l * s) % 4))]);
    col(1, entries);
  }
  for (let m = 0; m < M; m++) {
    const demand = row(1 + 50 * rnd(), 1e30);
    const seat = row(1, 1e30);
    for (let s = 0; s < S; s++)
      for (let e = 0; e < E; e++) {
        const throughput = (1 + s) * (5 + 40 * rnd());
        col(0, [[time[s], 1], [lat[s], (0.1 + rnd()) * (1 + s)], [demand, throughput], [seat, Math.max(1, throughput / 30)]]);
      }
  }
  const n = cost.length;
  return { numCols: n, numRows: rowLower.length, colCost: Float64Array.from(cost), colLower: new Float64Array(n),
    colUpper: Float64Array.from(upper), rowLower: Float64Array.from(rowLower), rowUpper: Float64Array.from(rowUpper),
    starts: Int32Array.from(starts), indices: Int32Array.from(indices), values: Float64Array.from(values) };
};
const loaded = require(highsPath)();
let requested = false;
// the warm-up runs only if no model has been posted yet (one already here, even unread, goes first)
const ready = !warmUp ? loaded : loaded.then((highs) => {
  const early = receiveMessageOnPort(port);
  if (early) onRequest(early.message);
  if (requested) return highs;
  let model;
  try {
    model = createModel(highs, warmUpLp());
    model.options.set({ output_flag: false, random_seed: 0, presolve: 'off', time_limit: 10 });
    model.run();
  } catch {
    // only a warm-up: a real model that fails says why itself
  } finally {
    if (model) model.dispose();
  }
  return highs;
});
const onRequest = (req) => {
  requested = true;
  ready.then((highs) => {
    let model;
    try {
      model = createModel(highs, req);
      model.options.set(req.options);
      model.run();
      const status = model.getModelStatus();
      const info = (k) => {
        try { const v = model.info.get(k); return typeof v === 'bigint' ? Number(v) : v; } catch { return undefined; }
      };
      const sol = info('primal_solution_status') === 2 ? model.getSolution() : undefined;
      answer({
        id: req.id, ok: true, status, objective: sol ? model.getObjectiveValue() : NaN,
        dualBound: req.integrality ? info('mip_dual_bound') : (status === 7 ? model.getObjectiveValue() : NaN),
        values: sol ? sol.colValue : new Float64Array(0), feasible: !!sol,
        rowDuals: sol && !req.integrality && sol.rowDual ? sol.rowDual : new Float64Array(0),
        nodes: req.integrality ? Math.max(0, info('mip_node_count') ?? 0) : 0,
        iterations: Math.max(0, info('simplex_iteration_count') ?? 0),
        version: highs.version.string,
      });
    } catch (e) {
      answer({ id: req.id, ok: false, message: String((e && e.message) || e) });
    } finally {
      if (model) model.dispose();
    }
  }, (e) => answer({ id: req.id, ok: false, message: 'cannot load highs: ' + String((e && e.message) || e) }));
};
port.on('message', onRequest);
`;

function startBridge(warmUp = false): Bridge {
  if (bridge) return bridge;
  const shared = new SharedArrayBuffer(4);
  const { port1, port2 } = new MessageChannel();
  const base = { port: port1, answered: new Int32Array(shared), sent: 0, received: new Map<number, unknown>() };
  let highsPath: string;
  try {
    highsPath = require.resolve('highs');
  } catch {
    bridge = { ...base, worker: undefined as unknown as Worker, broken: 'the highs package is not installed' };
    return bridge;
  }
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { port: port2, flag: shared, highsPath, warmUp },
    transferList: [port2],
  });
  worker.unref();
  port1.unref();
  bridge = { ...base, worker };
  const b = bridge;
  worker.on('error', (e) => {
    b.broken = `solver worker failed: ${e.message}`;
  });
  return bridge;
}

export interface WarmUpOptions {
  /**
   * Compile HiGHS with V8's baseline WebAssembly compiler only (`--liftoff-only`): a short-lived
   * process (the CLI) then solves its first model about 5x sooner, at some cost to long runs.
   * The flag is process-wide, so only an entry point that owns its process should set it.
   * @default false
   */
  readonly baselineCompiler?: boolean;
  /**
   * Once HiGHS has loaded, solve a small built-in LP in the worker (about 0.02 s of CPU) unless a model has been
   * posted by then: WebAssembly functions are compiled on their first call, so a big model's first solve otherwise
   * pays for compiling the simplex code too (docs/planner.md, "Solver"). For a caller that posts a big model well
   * after start-up (the CLI with a large fleet file): a model posted during the warm-up waits for its end. Only
   * when this call starts the worker.
   * @default false
   */
  readonly warmUpSolve?: boolean;
}

/** Starts the solver worker now (it loads HiGHS in parallel with whatever runs next). Idempotent. */
export function warmUpSolver(options: WarmUpOptions = {}): void {
  if (options.baselineCompiler && !bridge) setFlagsFromString('--liftoff-only');
  startBridge(options.warmUpSolve ?? false);
}

/** HiGHS model status codes (highs.constants.modelStatus). */
const OPTIMAL = 7;
const INFEASIBLE = 8;
const UNBOUNDED_OR_INFEASIBLE = 9;
const UNBOUNDED = 10;

const failure = (message: string): LpResult => ({
  status: 'error',
  objective: NaN,
  dualBound: -Infinity,
  values: new Float64Array(0),
  rowDuals: new Float64Array(0),
  feasible: false,
  nodes: 0,
  iterations: 0,
  message,
});

/** A model handed to the solver; `wait()` blocks until its answer (the caller may work in the meantime). */
export interface PendingSolve {
  wait(): LpResult;
}

/** How many answers the process keeps (the oldest goes first). */
const MEMO_SIZE = 64;
/** Answers by model and options: the solver is deterministic, so the same model is solved once per process. */
const memo = new Map<string, PendingSolve>();

/** The memo's key of a model and its options: a digest of every array and option. */
function memoKey(model: LpModel, options: LpOptions): string {
  const h = createHash('sha1');
  const arrays = [model.colCost, model.colLower, model.colUpper, model.rowLower, model.rowUpper, model.starts, model.indices, model.values];
  for (const a of model.integrality ? [...arrays, model.integrality] : arrays) {
    h.update(`${a.constructor.name}:${a.length};`);
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  h.update(`${model.numCols}/${model.numRows}/${JSON.stringify(options, Object.keys(options).sort())}`);
  return h.digest('base64');
}

/**
 * Hands a model to the solver worker and returns at once: the solve runs in parallel with the
 * caller until `wait()`. Answers come in submission order.
 *
 * A model already submitted in this process with the same options (same arrays, byte for byte) is not
 * solved again: the solver is deterministic (every budget is a count), so its answer is the same. An
 * application that plans one fleet twice (a cdk8s app and its check, `rebalance` planning the old and the
 * new fleet) solves each model once. Answers are shared between the callers: never modify their arrays.
 * An answer with status `error` (the solver could not run) is not kept.
 */
export function submitLp(model: LpModel, options: LpOptions = {}): PendingSolve {
  const key = memoKey(model, options);
  const known = memo.get(key);
  if (known) return known;
  const pending = submitToWorker(model, options);
  let result: LpResult | undefined;
  const shared: PendingSolve = {
    wait: (): LpResult => {
      if (!result) {
        result = pending.wait();
        if (result.status === 'error' && memo.get(key) === shared) memo.delete(key);
      }
      return result;
    },
  };
  memo.set(key, shared);
  if (memo.size > MEMO_SIZE) memo.delete(memo.keys().next().value as string);
  return shared;
}

/** Forgets every kept answer: a benchmark that times a solve calls it first, so that it times the solver, not the memo. */
export function forgetSolverAnswers(): void {
  memo.clear();
}

function submitToWorker(model: LpModel, options: LpOptions): PendingSolve {
  const b = startBridge();
  if (b.broken) {
    const f = failure(b.broken);
    return { wait: () => f };
  }
  const integer = model.integrality !== undefined && model.integrality.some((x) => x !== 0);
  const hOptions: Record<string, unknown> = { output_flag: false, random_seed: 0, time_limit: options.safetySeconds ?? 60 };
  if (integer) {
    hOptions.mip_max_nodes = options.maxNodes ?? 2000;
    hOptions.mip_rel_gap = options.mipRelGap ?? 1e-6;
    if (options.firstSolution) hOptions.mip_max_improving_sols = 1;
  }
  if (options.maxIterations !== undefined) hOptions.simplex_iteration_limit = options.maxIterations;
  if (options.presolve === false) hOptions.presolve = 'off';
  const id = ++b.sent;
  b.port.postMessage({ ...model, id, integrality: integer ? model.integrality : undefined, options: hOptions });
  const deadline = (options.safetySeconds ?? 60) + 120;
  let result: LpResult | undefined;
  return {
    wait: (): LpResult => {
      if (!result) result = collect(b, id, deadline);
      return result;
    },
  };
}

function collect(b: Bridge, id: number, deadlineSeconds: number): LpResult {
  let waited = 0;
  while (!b.received.has(id)) {
    // read the answer count before looking at the port: the worker posts, then counts
    const seen = Atomics.load(b.answered, 0);
    const reply = receiveMessageOnPort(b.port);
    if (reply) {
      const msg = reply.message as { id: number };
      b.received.set(msg.id, msg);
      continue;
    }
    if (b.broken) return failure(b.broken);
    // nothing on the port: sleep until the worker's next answer (in 1 s slices, so a dead worker is noticed)
    if (Atomics.wait(b.answered, 0, seen, 1000) === 'timed-out' && ++waited > deadlineSeconds) {
      b.broken = 'the solver worker did not answer';
      return failure(b.broken);
    }
  }
  const m = b.received.get(id) as {
    ok: boolean;
    message?: string;
    status: number;
    objective: number;
    dualBound?: number;
    values: Float64Array;
    rowDuals: Float64Array;
    feasible: boolean;
    nodes: number;
    iterations: number;
    version?: string;
  };
  b.received.delete(id);
  if (!m.ok) return failure(m.message ?? 'unknown solver error');
  b.version = m.version;
  const status: LpStatus =
    m.status === OPTIMAL
      ? 'optimal'
      : m.status === INFEASIBLE
        ? 'infeasible'
        : m.status === UNBOUNDED || m.status === UNBOUNDED_OR_INFEASIBLE
          ? 'unbounded'
          : m.status >= 11 && m.status <= 17 && m.status !== 15
            ? 'limit'
            : 'error';
  const dualBound =
    typeof m.dualBound === 'number' && Number.isFinite(m.dualBound) ? m.dualBound : status === 'optimal' ? m.objective : -Infinity;
  return {
    status,
    objective: m.objective,
    dualBound,
    values: m.values,
    rowDuals: m.rowDuals,
    feasible: m.feasible,
    nodes: m.nodes,
    iterations: m.iterations,
    ...(status === 'error' ? { message: `HiGHS model status ${m.status}` } : {}),
  };
}

/** Solves a model synchronously with HiGHS. Never throws for an optimisation outcome; `status: 'error'` carries why it could not run. */
export function solveLp(model: LpModel, options: LpOptions = {}): LpResult {
  return submitLp(model, options).wait();
}

/** A copy of a bound array with infinities as HiGHS's (+-1e30). */
function finiteBounds(a: readonly number[]): Float64Array {
  const out = Float64Array.from(a);
  for (let i = 0; i < out.length; i++) {
    const x = out[i];
    if (x === Infinity) out[i] = 1e30;
    else if (x === -Infinity) out[i] = -1e30;
  }
  return out;
}

/**
 * Builds an `LpModel` column by column: `col` adds a column with its entries; or `open` starts one and `entry`
 * adds its entries one at a time (no list of pairs). A zero coefficient is never stored.
 */
export class LpBuilder {
  private readonly cost: number[] = [];
  private readonly lower: number[] = [];
  private readonly upper: number[] = [];
  private readonly integer: number[] = [];
  private readonly starts: number[] = [0];
  private readonly rows: number[] = [];
  private readonly coefs: number[] = [];
  private readonly rowLo: number[] = [];
  private readonly rowHi: number[] = [];

  get numCols(): number {
    return this.cost.length;
  }
  get numRows(): number {
    return this.rowLo.length;
  }

  /** Adds a row `lo <= ... <= hi` (its entries come with the columns); returns its index. */
  row(lo: number, hi: number): number {
    this.rowLo.push(lo);
    this.rowHi.push(hi);
    return this.rowLo.length - 1;
  }

  /** Adds a column with its entries (row index, coefficient); returns its index. */
  col(cost: number, lo: number, hi: number, entries: readonly (readonly [number, number])[], integer = false): number {
    const c = this.open(cost, lo, hi, integer);
    for (const [r, v] of entries) this.entry(r, v);
    return c;
  }

  /** Adds a column without entries (`entry` adds them); returns its index. */
  open(cost: number, lo: number, hi: number, integer = false): number {
    this.cost.push(cost);
    this.lower.push(lo);
    this.upper.push(hi);
    this.integer.push(integer ? 1 : 0);
    this.starts.push(this.rows.length);
    return this.cost.length - 1;
  }

  /** Adds an entry to the last column (skipped when the coefficient is 0). */
  entry(row: number, value: number): void {
    if (value === 0) return;
    this.rows.push(row);
    this.coefs.push(value);
    this.starts[this.cost.length] = this.rows.length;
  }

  build(withIntegrality: boolean): LpModel {
    return {
      numCols: this.cost.length,
      numRows: this.rowLo.length,
      colCost: Float64Array.from(this.cost),
      colLower: finiteBounds(this.lower),
      colUpper: finiteBounds(this.upper),
      rowLower: finiteBounds(this.rowLo),
      rowUpper: finiteBounds(this.rowHi),
      starts: Int32Array.from(this.starts),
      indices: Int32Array.from(this.rows),
      values: Float64Array.from(this.coefs),
      ...(withIntegrality ? { integrality: Int32Array.from(this.integer) } : {}),
    };
  }
}
