/**
 * The router's metrics and their Prometheus text exposition (format 0.0.4).
 * Counters are kept in plain maps keyed by label values; rendering sorts everything, so
 * `/metrics` is stable between scrapes.
 */

/** Load-latency histogram buckets, in seconds. */
export const LOAD_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  return `{${names.map((n, i) => `${n}="${esc(values[i])}"`).join(',')}}`;
}

/** A counter with fixed label names. */
export class Counter {
  private readonly values = new Map<string, { values: string[]; n: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  inc(values: readonly string[], by = 1): void {
    const key = values.join('\u0000');
    const cur = this.values.get(key);
    if (cur) cur.n += by;
    else this.values.set(key, { values: [...values], n: by });
  }

  /** `inc([v])` without allocating, for one-label counters on the request path. */
  inc1(v: string): void {
    const cur = this.values.get(v);
    if (cur) cur.n++;
    else this.values.set(v, { values: [v], n: 1 });
  }

  get(values: readonly string[]): number {
    return this.values.get(values.join('\u0000'))?.n ?? 0;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const key of [...this.values.keys()].sort()) {
      const v = this.values.get(key)!;
      out.push(`${this.name}${labels(this.labelNames, v.values)} ${v.n}`);
    }
  }
}

/** Requests by model and status code, counted without allocating on the request path. */
export class RequestCounter {
  private readonly byModel = new Map<string, Map<number, number>>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(model: string, code: number): void {
    let m = this.byModel.get(model);
    if (m === undefined) {
      m = new Map();
      this.byModel.set(model, m);
    }
    m.set(code, (m.get(code) ?? 0) + 1);
  }

  get(model: string, code: number): number {
    return this.byModel.get(model)?.get(code) ?? 0;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const model of [...this.byModel.keys()].sort()) {
      const m = this.byModel.get(model)!;
      for (const code of [...m.keys()].sort((a, b) => a - b)) out.push(`${this.name}{model="${esc(model)}",code="${code}"} ${m.get(code)}`);
    }
  }
}

/** A gauge whose samples are computed at scrape time. */
export class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly collect: () => Array<[string[], number]>,
  ) {}

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`);
    const samples = this.collect().sort((a, b) => a[0].join('\u0000').localeCompare(b[0].join('\u0000')));
    for (const [values, n] of samples) out.push(`${this.name}${labels(this.labelNames, values)} ${n}`);
  }
}

/** A histogram without labels. */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    this.counts = buckets.map(() => 0);
  }

  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.counts[i]++;
  }

  get total(): number {
    return this.count;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]}`));
    out.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
  }
}

type Metric = Counter | RequestCounter | Gauge | Histogram;

/** The router's metric set; gauges are registered by the router with its own state readers. */
export class RouterMetrics {
  readonly requests = new RequestCounter('gpufleet_router_requests_total', 'Requests answered, by model and HTTP status code.');
  readonly cacheHits = new Counter('gpufleet_router_cache_hits_total', 'Model requests that found the model loaded on a backend.', [
    'model',
  ]);
  readonly cacheMisses = new Counter('gpufleet_router_cache_misses_total', 'Model requests that had to wait for a load.', ['model']);
  readonly loads = new Counter(
    'gpufleet_router_model_loads_total',
    'Model loads started by the router, by result (success, failure, timeout).',
    ['model', 'backend', 'result'],
  );
  readonly unloads = new Counter('gpufleet_router_model_unloads_total', 'Model unloads, by reason (evicted, lost, manual).', [
    'model',
    'backend',
    'reason',
  ]);
  readonly adoptions = new Counter('gpufleet_router_model_adoptions_total', 'Models found READY on a backend and adopted.', [
    'model',
    'backend',
  ]);
  readonly backendErrors = new Counter('gpufleet_router_backend_errors_total', 'Connection-level failures talking to a backend.', [
    'backend',
  ]);
  readonly indexErrors = new Counter(
    'gpufleet_router_index_errors_total',
    'Repository index reads that failed or timed out (the backend stays in service).',
    ['backend'],
  );
  readonly loadSeconds = new Histogram(
    'gpufleet_router_model_load_duration_seconds',
    'Duration of successful model loads (the load call on the backend).',
    LOAD_BUCKETS,
  );
  private readonly gauges: Gauge[] = [];

  addGauge(name: string, help: string, labelNames: readonly string[], collect: () => Array<[string[], number]>): void {
    this.gauges.push(new Gauge(name, help, labelNames, collect));
  }

  render(): string {
    const out: string[] = [];
    const all: Metric[] = [
      this.requests,
      this.cacheHits,
      this.cacheMisses,
      this.loads,
      this.unloads,
      this.adoptions,
      this.backendErrors,
      this.indexErrors,
      this.loadSeconds,
      ...this.gauges,
    ];
    for (const m of all) m.render(out);
    return out.join('\n') + '\n';
  }
}
