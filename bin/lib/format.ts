/** Number formatting shared by the summary table and the HTML report. */

/** 0.4567 → `46%`. */
export function pct(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  return `${Math.round(x * 100)}%`;
}

/** 12.5 → `$12.50`. */
export function usd(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  return `$${x.toFixed(2).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`;
}

/** Up to `digits` decimals, trailing zeros dropped: 3.670 → `3.67`, 5 → `5`. */
export function num(x: number | undefined, digits = 2): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  return String(Number(x.toFixed(digits)));
}

/** GiB with one decimal: `9.5 GiB`. */
export function gib(x: number): string {
  return `${num(x, 1)} GiB`;
}

/** `5 fewer GPUs (55% saved)` / `2 more GPUs` against a baseline. */
export function versus(plan: number, baseline: number): string {
  if (baseline <= 0) return '-';
  const d = baseline - plan;
  if (d === 0) return 'same';
  const n = Math.abs(d);
  return d > 0 ? `${num(n)} fewer (${pct(d / baseline)} saved)` : `${num(n)} more`;
}

/** A share as a percentage; a share that rounds to 0 but is not 0 reads `<1%`. */
export function sharePct(x: number): string {
  return x > 0 && x < 0.005 ? '<1%' : pct(x);
}

/** Against the tight bound: `optimal: equals the bound`, or `1.33x the bound, 4 above`. */
export function againstBound(gpus: number, bound: number): string {
  if (bound <= 0) return '-';
  if (gpus <= bound) return 'optimal: equals the bound';
  return `${num(gpus / bound)}x the bound, ${num(gpus - bound)} above`;
}

/** Cost against the tight bound's cost: `optimal: equals the bound`, or `1.5x the bound's cost ($1.88/h above)`. */
export function againstCostBound(cost: number, bound: number): string {
  if (bound <= 0) return '-';
  if (cost <= bound + 0.005) return 'optimal: equals the bound';
  return `${num(cost / bound)}x the bound's cost (${usd(cost - bound)}/h above)`;
}
