/**
 * The readable summary of `gpufleet plan FLEET` (without --json): the headline, a table per GPU
 * type with totals, the comparison with the tight bound and the baselines, the node
 * configurations and the teams.
 */
import { againstBound, againstCostBound, num, pct, usd, versus } from './format';
import { boundMethod, type GpuTypeView, type PlanView } from './plan-view';
import { TEAM_TABLE_ALIGN, TEAM_TABLE_HEADER, teamLegend, teamRows } from './team-table';

type Align = 'l' | 'r';

/** Renders rows as an aligned text table; `align` per column (default left). */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function renderSummary(view: PlanView): string {
  return [
    ...headline(view),
    ...gpuTypeSection(view),
    ...boundSection(view),
    ...configSection(view),
    ...teamSection(view),
    ...coldTierSection(view),
    ...notesSection(view),
  ].join('\n');
}

/** The one-line headline: GPUs, cost, models, slices, nodes and node configurations. */
function headline(view: PlanView): string[] {
  const out: string[] = [];
  out.push(
    `fleet ${view.fleet}: ${view.gpuCount} GPU${view.gpuCount === 1 ? '' : 's'}, ${usd(view.costPerHour)}/h, ` +
      `${view.models} models on ${view.slices} slices, ${view.nodes.length} node${view.nodes.length === 1 ? '' : 's'}, ` +
      `${view.nodeConfigurations} node configuration${view.nodeConfigurations === 1 ? '' : 's'}`,
  );
  out.push('');
  return out;
}

/** The table per GPU type (with the total row when it says more than the single type's row) and its legend. */
function gpuTypeSection(view: PlanView): string[] {
  const out: string[] = [];
  const tight = view.tightBound;
  out.push('GPU types');
  // several GPU types: each type's GPUs against the bounds of the demand placed on it; the total on cost
  const mixed = view.typesOffered > 1;
  const typeRows = view.types.map((t) => [
    t.type,
    t.idleGpus > 0 ? `${t.gpus} +${t.idleGpus} idle` : String(t.gpus),
    t.slicesByProfile.map(([p, c]) => `${c}x ${p}`).join(', '),
    String(t.models),
    pct(t.computeUtil),
    pct(t.memoryUtil),
    usd(t.costPerHour),
    ...(mixed ? [num(t.lowerBound)] : []),
    num(t.tightBound),
    ...(mixed ? [typeAgainst(t)] : []),
    saved(t.gpus, t.dedicated),
    saved(t.gpus, t.noMig),
    String(t.nodeConfigurations),
  ]);
  if (view.types.length > 1 || view.types.some((t) => t.tightBound !== tight?.gpus)) {
    typeRows.push([
      'total',
      String(view.gpuCount),
      `${view.slices} slices`,
      String(view.models),
      pct(view.computeUtil),
      pct(view.memoryUtil),
      usd(view.costPerHour),
      // GPU counts of different types do not add up to a bound: the total is compared on cost
      ...(mixed ? ['-', '-', costAgainst(view)] : [num(tight?.gpus)]),
      saved(view.gpuCount, view.dedicated),
      saved(view.gpuCount, view.noMig),
      String(view.nodeConfigurations),
    ]);
  }
  out.push(
    textTable(
      [
        'GPU type',
        'GPUs',
        'slices (by profile)',
        'models',
        'compute',
        'memory',
        'cost/h',
        ...(mixed ? ['lower bound', 'tight bound', 'against the bound'] : ['tight bound']),
        'vs dedicated',
        'vs noMig',
        'node configs',
      ],
      typeRows,
      ['l', 'r', 'l', 'r', 'r', 'r', 'r', ...(mixed ? (['r', 'r', 'l'] as Align[]) : (['r'] as Align[])), 'r', 'r', 'r'],
    ),
  );
  if (mixed) {
    out.push(
      '  lower bound / tight bound: fewest GPUs of that type that can serve the demand the plan placed on it; ' +
        'the total is compared on cost (below)',
    );
  }
  out.push('  compute: compute-slice time held by models; memory: GPU memory used by Triton processes and models;');
  if (view.types.some((t) => t.idleGpus > 0)) {
    out.push('  idle: GPUs of partly used nodes that carry no models (cost/h counts whole nodes)');
  }
  out.push('  vs dedicated / vs noMig: GPUs saved against the baseline (baseline GPUs in brackets)');
  out.push('');
  return out;
}

/** The plan against the tight bound (one GPU type) or the cost bound (several), and the baselines. */
function boundSection(view: PlanView): string[] {
  const out: string[] = [];
  const tight = view.tightBound;
  if (view.typesOffered > 1) {
    out.push('against the cost bound and the baselines');
    out.push(
      textTable(
        ['', 'GPUs', 'cost/h', 'this plan against it'],
        [
          ['this plan', String(view.gpuCount), usd(view.costPerHour), ''],
          ['cost bound', '-', usd(view.costBound), view.costBound !== undefined ? versusBound(view) : 'not computed (see notes)'],
          ['dedicated', String(view.dedicated), '', versus(view.gpuCount, view.dedicated)],
          ['noMig', String(view.noMig), '', versus(view.gpuCount, view.noMig)],
        ],
        ['l', 'r', 'r', 'l'],
      ),
    );
    out.push(
      '  cost bound: no plan that meets the six feasibility rules costs less per hour, whatever GPU types it uses' +
        (tight ? ` (tight bound ${usd(tight.costPerHour)}/h` : ' (') +
        `${view.costLowerBound !== undefined ? `${tight ? ', ' : ''}lower bound priced ${usd(view.costLowerBound)}/h` : ''}); ` +
        'GPU counts of different types are compared per type only (table above)',
    );
  } else {
    out.push('against the tight bound and the baselines');
    out.push(
      textTable(
        ['', 'GPUs', 'cost/h', 'this plan against it'],
        [
          ['this plan', String(view.gpuCount), usd(view.costPerHour), ''],
          [
            'tight bound',
            tight ? String(tight.gpus) : '-',
            tight ? usd(tight.costPerHour) : '-',
            tight ? versusBound(view) : 'not computed (see notes)',
          ],
          ['dedicated', String(view.dedicated), '', versus(view.gpuCount, view.dedicated)],
          ['noMig', String(view.noMig), '', versus(view.gpuCount, view.noMig)],
        ],
        ['l', 'r', 'r', 'l'],
      ),
    );
    out.push('  tight bound: no plan that meets the six feasibility rules uses fewer GPUs or costs less per hour');
  }
  if (tight) out.push(`  (${boundMethod(tight)}; docs/planner.md)`);
  out.push('  dedicated: one whole GPU per model replica; noMig: whole GPUs, several models per Triton server, no MIG');
  out.push('');
  return out;
}

/** The node configurations, one node pool each. */
function configSection(view: PlanView): string[] {
  return [
    'node configurations (one node pool each)',
    textTable(['config', 'GPU type', 'instance', 'nodes', 'GPU layouts'], configRows(view), ['l', 'l', 'l', 'r', 'l']),
    '',
  ];
}

/** Each team's consumption, when the fleet has teams. */
function teamSection(view: PlanView): string[] {
  if (view.teams.length === 0) return [];
  return ['teams', textTable(TEAM_TABLE_HEADER, teamRows(view), TEAM_TABLE_ALIGN), ...teamLegend(view), ''];
}

/** The cold tier, when the plan has one. */
function coldTierSection(view: PlanView): string[] {
  const out: string[] = [];
  if (view.cold) {
    const c = view.cold;
    out.push('cold tier (router: loaded on demand, no permanent seat)');
    out.push(`  ${c.models.length} models below ${num(c.belowRps)} rps: ${c.models.map((m) => `${m.name} (${num(m.rps, 1)})`).join(', ')}`);
    out.push(
      `  cache slices: ${c.slices.join(', ')}; ${num(c.cacheGiB, 1)} GiB for loaded models, hit-rate target ${pct(c.hitRateTarget)}`,
    );
    out.push(
      `  GPUs with a seat for every cold model: ${num(c.gpusWithSeats)}; with the cold tier: ${view.gpuCount} (${num(c.gpusSaved)} saved)`,
    );
    out.push('');
  }
  return out;
}

/** The planner's notes. */
function notesSection(view: PlanView): string[] {
  if (view.notes.length === 0) return [];
  return ['notes', ...view.notes.map((n) => `  - ${n}`), ''];
}

/**
 * The plan against its bound: on GPUs for one GPU type (the tight bound); on cost when the fleet offers
 * several (`costBound`: the tight bound's cost or the lower bound priced, the larger).
 */
export function versusBound(view: PlanView): string {
  if (view.typesOffered > 1) return view.costBound !== undefined ? againstCostBound(view.costPerHour, view.costBound) : '-';
  return view.tightBound ? againstBound(view.gpuCount, view.tightBound.gpus) : '-';
}

/** One GPU type's GPUs against the bound of the demand placed on it: `1.4x the bound, 2 above`. */
export function typeAgainst(t: GpuTypeView): string {
  const bound = t.tightBound !== undefined && t.tightBound > 0 ? t.tightBound : t.lowerBound;
  if (bound === undefined || bound <= 0) return '-';
  return t.tightBound !== undefined ? againstBound(t.gpus, t.tightBound) : `${num(t.gpus / bound)}x the lower bound`;
}

/** The plan's cost against the cost bound, short: `1.4x the cost bound`. */
export function costAgainst(view: PlanView): string {
  if (view.costBound === undefined || view.costBound <= 0) return '-';
  return view.costPerHour <= view.costBound + 0.005
    ? 'cost: equals the bound'
    : `cost: ${num(view.costPerHour / view.costBound)}x the bound`;
}

function saved(gpus: number, baseline: number | undefined): string {
  if (baseline === undefined || baseline <= 0) return '-';
  return `${pct(1 - gpus / baseline)} (${num(baseline)})`;
}

function configRows(view: PlanView): string[][] {
  return view.migConfigs.map((c) => [c.name, c.gpuType, c.instanceType, String(c.nodes), deviceRuns(c.devices.map((d) => layout(d)))]);
}

/** Per GPU index layouts, runs of equal ones merged: `gpu 0: a; gpus 1-7: b`; one layout alone when all are alike. */
export function deviceRuns(layouts: readonly string[]): string {
  const runs: { from: number; to: number; layout: string }[] = [];
  layouts.forEach((l, i) => {
    const last = runs[runs.length - 1];
    if (last && last.layout === l) last.to = i;
    else runs.push({ from: i, to: i, layout: l });
  });
  if (runs.length === 1) return runs[0].layout;
  return runs.map((r) => `${r.from === r.to ? `gpu ${r.from}` : `gpus ${r.from}-${r.to}`}: ${r.layout}`).join('; ');
}

function layout(slices: readonly { profile: string; start: number }[]): string {
  const counts = new Map<string, number>();
  for (const s of slices) counts.set(s.profile, (counts.get(s.profile) ?? 0) + 1);
  return [...counts.entries()].map(([p, c]) => (c > 1 ? `${c}x ${p}` : p)).join(' + ');
}
