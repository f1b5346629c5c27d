/**
 * A small evaluator for the PromQL gpufleet renders into its autoscalers (KEDA triggers), over two scrapes of
 * Prometheus text exposition. It covers exactly the constructs those queries use, with Prometheus' semantics
 * (prometheus/prometheus `promql/engine.go`, `promql/functions.go`):
 *
 * - `metric{l="v",l=~"re"}` instant selectors (regex fully anchored), `[w]` ranges inside `rate()`;
 * - `rate()` of a counter: (last − first) / seconds between the two scrapes (no extrapolation: both scrapes are the
 *   window), per series;
 * - `sum()` over every series, without labels: an empty vector when nothing matched;
 * - `+ - * /` between single-element vectors or numbers; a result with an empty side is empty; `x / 0` is NaN or ±Inf;
 * - `>= c` keeps the element when the comparison holds (NaN never does);
 * - `a or b`: a when it has an element, else b; `vector(c)`.
 *
 * Values are `number | undefined` (undefined = empty vector): every query here ends in one unlabelled series.
 */

export interface Scrape {
  /** Seconds. */
  readonly at: number;
  /** `name{labels}` → value. */
  readonly series: ReadonlyArray<{ name: string; labels: Record<string, string>; value: number }>;
}

/** Parses Prometheus text; `extraLabels` are added to every series (what Prometheus adds as target labels). */
export function parseExposition(text: string, at: number, extraLabels: Record<string, string> = {}): Scrape {
  const series: Scrape['series'][number][] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = { ...extraLabels };
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
    series.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { at, series };
}

/** Merges scrapes of several targets taken at the same time. */
export function mergeScrapes(...scrapes: Scrape[]): Scrape {
  return { at: scrapes[0].at, series: scrapes.flatMap((s) => s.series) };
}

type Value = number | undefined;

class Evaluator {
  private pos = 0;
  private readonly src: string;

  constructor(
    src: string,
    private readonly before: Scrape,
    private readonly now: Scrape,
  ) {
    this.src = src.replace(/\s+/g, ' ');
  }

  run(): Value {
    const v = this.or();
    this.skip();
    if (this.pos !== this.src.length) throw new Error(`unexpected "${this.src.slice(this.pos)}"`);
    return v;
  }

  private skip(): void {
    while (this.src[this.pos] === ' ') this.pos++;
  }

  private eat(s: string): boolean {
    this.skip();
    if (this.src.startsWith(s, this.pos)) {
      this.pos += s.length;
      return true;
    }
    return false;
  }

  private need(s: string): void {
    if (!this.eat(s)) throw new Error(`expected "${s}" at "${this.src.slice(this.pos)}"`);
  }

  private or(): Value {
    let v = this.cmp();
    while (this.eat('or ')) {
      const r = this.cmp();
      v = v !== undefined ? v : r;
    }
    return v;
  }

  private cmp(): Value {
    const v = this.add();
    if (this.eat('>=')) {
      const c = this.number();
      return v !== undefined && v >= c ? v : undefined;
    }
    return v;
  }

  private add(): Value {
    let v = this.mul();
    for (;;) {
      if (this.eat('+')) {
        const r = this.mul();
        v = v === undefined || r === undefined ? undefined : v + r;
      } else if (this.eat('- ')) {
        const r = this.mul();
        v = v === undefined || r === undefined ? undefined : v - r;
      } else return v;
    }
  }

  private mul(): Value {
    let v = this.atom();
    for (;;) {
      if (this.eat('*')) {
        const r = this.atom();
        v = v === undefined || r === undefined ? undefined : v * r;
      } else if (this.eat('/')) {
        const r = this.atom();
        v = v === undefined || r === undefined ? undefined : v / r;
      } else return v;
    }
  }

  private number(): number {
    this.skip();
    const m = /^[0-9.e+-]+/.exec(this.src.slice(this.pos));
    if (!m) throw new Error(`expected a number at "${this.src.slice(this.pos)}"`);
    this.pos += m[0].length;
    return Number(m[0]);
  }

  private atom(): Value {
    if (this.eat('(')) {
      const v = this.or();
      this.need(')');
      return v;
    }
    if (this.eat('vector(')) {
      const c = this.number();
      this.need(')');
      return c;
    }
    if (this.eat('sum(')) {
      let values: number[];
      if (this.eat('rate(')) {
        const sel = this.selector();
        this.need('[');
        while (this.src[this.pos] !== ']') this.pos++;
        this.need(']');
        this.need(')');
        const dt = this.now.at - this.before.at;
        values = this.match(this.now, sel).map((s) => {
          const prev = this.match(this.before, sel).find((p) => JSON.stringify(p.labels) === JSON.stringify(s.labels));
          return (s.value - (prev?.value ?? 0)) / dt;
        });
      } else values = this.match(this.now, this.selector()).map((s) => s.value);
      this.need(')');
      return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);
    }
    const c = /^[0-9]/.test(this.src[this.pos] ?? '') ? this.number() : undefined;
    if (c === undefined) throw new Error(`unsupported expression at "${this.src.slice(this.pos)}"`);
    return c;
  }

  private selector(): { name: string; matchers: Array<[string, '=' | '=~', string]> } {
    this.skip();
    const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(this.src.slice(this.pos));
    if (!m) throw new Error(`expected a metric name at "${this.src.slice(this.pos)}"`);
    this.pos += m[0].length;
    const matchers: Array<[string, '=' | '=~', string]> = [];
    if (this.eat('{')) {
      while (!this.eat('}')) {
        const l = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)(=~|=)"((?:[^"\\]|\\.)*)",?/.exec(this.src.slice(this.pos));
        if (!l) throw new Error(`bad label matcher at "${this.src.slice(this.pos)}"`);
        matchers.push([l[1], l[2] as '=' | '=~', l[3]]);
        this.pos += l[0].length;
      }
    }
    return { name: m[0], matchers };
  }

  private match(s: Scrape, sel: { name: string; matchers: Array<[string, '=' | '=~', string]> }): Scrape['series'][number][] {
    return s.series.filter(
      (x) =>
        x.name === sel.name &&
        sel.matchers.every(([k, op, v]) => (op === '=' ? (x.labels[k] ?? '') === v : new RegExp(`^(?:${v})$`).test(x.labels[k] ?? ''))),
    );
  }
}

/** The value of `query` at the second scrape, ranges spanning both; undefined for an empty result. */
export function evaluate(query: string, before: Scrape, now: Scrape): number | undefined {
  return new Evaluator(query, before, now).run();
}
