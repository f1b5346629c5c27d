/**
 * The teams of a plan, as the summary table (`gpufleet plan`) and the report's Teams section show them: per team its
 * models, demand, GPU-equivalents and cost per hour, and the part of them in shared pools (the shared namespace,
 * outside the team's quota); then what no team holds, so the column sums to the plan's GPUs and cost.
 * The figures are the planner's (constructs/planner/team-consumption.ts), never recomputed here.
 */
import { esc } from './html';
import { num, usd } from './format';
import type { PlanView } from './plan-view';

const eq = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(2));

/** Rows of the text table: one per team, then unassigned, idle node GPUs (when any) and the total. */
export function teamRows(view: PlanView): string[][] {
  const rows = view.teams.map((t) => [
    t.team,
    String(t.models),
    num(t.rps, 1),
    eq(t.gpuEquivalents),
    usd(t.costPerHour),
    eq(t.inSharedPools?.gpuEquivalents),
    usd(t.inSharedPools?.costPerHour),
  ]);
  if (view.unassigned) rows.push(['(no team)', '', '', eq(view.unassigned.gpuEquivalents), usd(view.unassigned.costPerHour), '', '']);
  if (view.idleNodeGpus && view.idleNodeGpus.gpus > 0) {
    rows.push([
      `(${view.idleNodeGpus.gpus} idle node GPU${view.idleNodeGpus.gpus === 1 ? '' : 's'})`,
      '',
      '',
      '',
      usd(view.idleNodeGpus.costPerHour),
      '',
      '',
    ]);
  }
  rows.push(['total', String(view.models), '', eq(view.gpuCount), usd(view.costPerHour), '', '']);
  return rows;
}

export const TEAM_TABLE_HEADER = ['team', 'models', 'rps', 'GPU equivalents', 'cost/h', 'in shared pools', 'shared cost/h'] as const;
export const TEAM_TABLE_ALIGN = ['l', 'r', 'r', 'r', 'r', 'r', 'r'] as const;

/** The legend lines under the text table. */
export function teamLegend(view: PlanView): string[] {
  const out = [
    '  GPU equivalents: compute time held (share x slice size / GPU); cost/h: that at the price of the GPU holding it',
    "  in shared pools: the part in pools serving several teams (namespace serving-shared by default), outside the team's quota",
    '  (no team): time of seated slices no share covers, spare slices, compute outside the MIG layout',
  ];
  if (view.idleNodeGpus && view.idleNodeGpus.gpus > 0)
    out.push('  idle node GPUs: GPUs of partly used nodes, paid for, not in the GPU count');
  return out;
}

/** The report's Teams table (HTML), team colours as chips, a bar per team by cost. */
export function teamsHtml(view: PlanView, colors: ReadonlyMap<string, string>): string {
  if (view.teams.length === 0) return '<p class="muted">no models placed</p>';
  const maxCost = Math.max(...view.teams.map((t) => t.costPerHour), 1e-9);
  const rows = view.teams.map(
    (t) =>
      `<tr><td><span class="chip" style="background:${colors.get(t.team)}"></span>${esc(t.team)}</td>` +
      `<td class="n">${t.models}</td><td class="n">${esc(num(t.rps, 1))}</td><td class="n">${eq(t.gpuEquivalents)}</td>` +
      `<td class="n">${esc(usd(t.costPerHour))}</td><td class="n">${eq(t.inSharedPools?.gpuEquivalents)}</td>` +
      `<td class="n">${esc(usd(t.inSharedPools?.costPerHour))}</td>` +
      `<td class="barcell"><span class="hbar" style="width:${((100 * t.costPerHour) / maxCost).toFixed(1)}%;` +
      `background:${colors.get(t.team)}"></span></td></tr>`,
  );
  const extra: string[] = [];
  if (view.unassigned) {
    extra.push(
      `<tr class="muted"><td>(no team)</td><td></td><td></td><td class="n">${eq(view.unassigned.gpuEquivalents)}</td>` +
        `<td class="n">${esc(usd(view.unassigned.costPerHour))}</td><td></td><td></td><td></td></tr>`,
    );
  }
  if (view.idleNodeGpus && view.idleNodeGpus.gpus > 0) {
    extra.push(
      `<tr class="muted"><td>(${view.idleNodeGpus.gpus} idle node GPUs)</td><td></td><td></td><td></td>` +
        `<td class="n">${esc(usd(view.idleNodeGpus.costPerHour))}</td><td></td><td></td><td></td></tr>`,
    );
  }
  extra.push(
    `<tr><th>total</th><td class="n">${view.models}</td><td></td><td class="n">${eq(view.gpuCount)}</td>` +
      `<td class="n">${esc(usd(view.costPerHour))}</td><td></td><td></td><td></td></tr>`,
  );
  return (
    `<table class="teams"><thead><tr><th>team</th><th class="n">models</th><th class="n">rps</th>` +
    `<th class="n" title="compute time held: share x slice size / GPU">GPU eq.</th><th class="n">cost/h</th>` +
    '<th class="n" title="part in pools serving several teams (the shared namespace)">in shared pools</th>' +
    '<th class="n">shared cost/h</th><th></th></tr></thead>' +
    `<tbody>${rows.join('')}${extra.join('')}</tbody></table>` +
    '<p class="muted">GPU eq.: whole-GPU equivalents of the compute time the team\'s models hold; cost/h: those at the price of the GPUs ' +
    "holding them. In shared pools: the part served from the shared namespace (pools mixing several teams' models), which the " +
    "team's ResourceQuota does not count. (no team): idle time, spare slices and compute outside the MIG layouts; the column sums " +
    "to the plan's GPUs and cost.</p>"
  );
}
