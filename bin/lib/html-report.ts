/**
 * The HTML report of `gpufleet report`: one self-contained page (inline CSS and SVG, no script,
 * no external assets) with the headline figures, the GPU-count comparison, the teams, every node
 * and GPU drawn with its slices and models, the node configurations and a model index.
 * Every text from the fleet or the plan is escaped.
 */
import { fleetOverviewSvg } from './fleet-overview';
import { gpuCountChart, gpuSvg } from './gpu-drawing';
import { gib, num, pct, sharePct, usd, versus } from './format';
import { costAgainst, typeAgainst, versusBound } from './summary-table';
import { esc, teamColors, htmlPage } from './html';
import { boundMethod, savings, type ColdTierView, type GpuView, type NodeView, type PlanView } from './plan-view';
import { teamsHtml } from './team-table';
import { compareText } from '../../constructs/catalog/text-order';

export interface ReportOptions {
  /** Shown in the footer, e.g. the fleet file path. */
  readonly source?: string;
  /** gpufleet version for the footer. */
  readonly version?: string;
}

export function renderReport(view: PlanView, opts: ReportOptions = {}): string {
  const colors = teamColors(view.teams.map((t) => t.team));
  const title = `gpufleet plan: ${view.fleet}`;
  const body = [
    header(view),
    kpis(view),
    `<section class="two"><div class="panel"><h2>GPUs needed</h2>${gpuCountChart(view)}` +
      `<p class="muted">${chartNote(view)}</p></div>` +
      `<div class="panel"><h2>Teams</h2>${teamsTable(view, colors)}</div></section>`,
    `<section class="panel"><h2>GPU types</h2>${typesTable(view)}</section>`,
    '<section class="panel"><h2>At a glance</h2><p class="muted legend-line">' +
      "Every GPU on its memory-slice axis; each slice filled with its models' time shares " +
      'in team colours (grey: time not given to any model). Click a GPU for its drawing.</p>' +
      `${legend(colors)}${fleetOverviewSvg(view, colors)}</section>`,
    `<section><h2>Nodes and GPUs</h2>` +
      `<p class="muted legend-line">Each GPU is drawn on its ${esc(axisText(view))} to scale, ` +
      'as <code>nvidia-smi mig -lgipp</code> places instances. ' +
      'In each slice: memory used (grey bar), time shares of its models (coloured bar), ' +
      "then one bar per model: the filled part is its share of the slice's time. " +
      `Hover for batch, instances and requests per second.</p>` +
      `${legend(colors)}${view.nodes.map((n) => nodeSection(n, colors, view.cold)).join('')}</section>`,
    coldTier(view, colors),
    `<section class="panel"><h2>Node configurations</h2>${configsTable(view)}</section>`,
    modelIndex(view),
    notes(view),
    `<footer>gpufleet${opts.version ? ` ${esc(opts.version)}` : ''} · plan of fleet <b>${esc(view.fleet)}</b>` +
      `${opts.source ? ` from <code>${esc(opts.source)}</code>` : ''}</footer>`,
  ].join('\n');
  return htmlPage(title, CSS, body);
}

function chartNote(view: PlanView): string {
  if (!view.tightBound) return 'No tight bound was computed (see the notes).';
  if (view.typesOffered > 1) {
    return (
      'Per GPU type: its GPUs against the tight bound of the demand placed on it. GPU counts of different types are not compared; ' +
      `across types the plan is compared on cost (${esc(versusBound(view))}).`
    );
  }
  return (
    'The dashed line is the tight bound: no plan that meets the feasibility rules uses fewer GPUs ' +
    `(${esc(boundMethod(view.tightBound))}).`
  );
}

function header(view: PlanView): string {
  return (
    `<header><div class="brand">gpufleet plan</div><h1>${esc(view.fleet)}</h1>` +
    `<p class="sub">${view.models} models · ${view.teams.length} teams · ${view.gpuCount} GPUs on ${view.nodes.length} ` +
    `node${view.nodes.length === 1 ? '' : 's'} · ${view.slices} slices · ${usd(view.costPerHour)} per hour</p></header>`
  );
}

function kpis(view: PlanView): string {
  const card = (label: string, value: string, note: string, cls = ''): string =>
    `<div class="kpi ${cls}"><div class="k-label">${esc(label)}</div>` +
    `<div class="k-value">${esc(value)}</div><div class="k-note">${esc(note)}</div></div>`;
  const tight = view.tightBound;
  const vsDed = savings(view.gpuCount, view.dedicated);
  const vsNoMig = savings(view.gpuCount, view.noMig);
  const mixed = view.typesOffered > 1;
  // several GPU types: GPUs per type against that type's bound; the total on cost against the cost bound
  const gpuNote = mixed
    ? view.types.map((t) => `${t.type} ${t.gpus}: ${typeAgainst(t)}`).join('; ')
    : tight
      ? `tight bound ${tight.gpus}: ${versusBound(view)}`
      : 'tight bound not computed';
  const floor = mixed ? view.costBound : tight?.costPerHour;
  return `<section class="kpis">${[
    card('GPUs', String(view.gpuCount), gpuNote, 'accent'),
    card(
      'cost per hour',
      usd(view.costPerHour),
      `${usd(Math.round(view.costPerHour * 730)).replace(/\.00$/, '')} per month (730 h)` +
        (floor !== undefined ? `; at least ${usd(floor)}${mixed ? ` with any GPU types: ${versusBound(view)}` : ''}` : ''),
    ),
    card('saved vs dedicated', pct(vsDed), `${num(view.dedicated)} → ${view.gpuCount} GPUs`, (vsDed ?? 0) > 0 ? 'good' : ''),
    card('saved vs no MIG', pct(vsNoMig), `${num(view.noMig)} → ${view.gpuCount} GPUs`, (vsNoMig ?? 0) > 0 ? 'good' : ''),
    card('compute held', pct(view.computeUtil), `memory used ${pct(view.memoryUtil)}`),
    card('node configurations', String(view.nodeConfigurations), 'node pools to operate'),
  ].join('')}</section>`;
}

function teamsTable(view: PlanView, colors: ReadonlyMap<string, string>): string {
  return teamsHtml(view, colors);
}

/** The tooltip of a GPU type's idle GPUs. */
const IDLE_GPUS_TITLE = 'GPUs of partly used nodes that carry no models; paid for with the node';

function typesTable(view: PlanView): string {
  const mixed = view.typesOffered > 1;
  const rows = view.types.map(
    (t) =>
      `<tr><td><b>${esc(t.type)}</b></td>` +
      `<td class="n">${t.gpus}${t.idleGpus > 0 ? ` <span class="muted" title="${IDLE_GPUS_TITLE}">+${t.idleGpus} idle</span>` : ''}</td>` +
      `<td class="wrap">${t.slicesByProfile.map(([p, n]) => `<span class="pill">${n}× ${esc(p)}</span>`).join(' ')}</td>` +
      `<td class="n">${t.models}</td><td>${meter(t.computeUtil)}</td><td>${meter(t.memoryUtil)}</td>` +
      `<td class="n">${esc(t.pricePerGpuHour === undefined ? '-' : usd(t.pricePerGpuHour))}</td>` +
      `<td class="n">${esc(usd(t.costPerHour))}</td>` +
      (mixed ? `<td class="n">${esc(num(t.lowerBound))}</td>` : '') +
      `<td class="n">${esc(num(t.tightBound))}</td>` +
      (mixed ? `<td>${esc(typeAgainst(t))}</td>` : '') +
      `<td class="n">${esc(saved(t.gpus, t.dedicated))}</td><td class="n">${esc(saved(t.gpus, t.noMig))}</td>` +
      `<td class="n">${t.nodeConfigurations}</td></tr>`,
  );
  rows.push(
    `<tr class="total"><td>total</td><td class="n">${view.gpuCount}</td><td>${view.slices} slices</td><td class="n">${view.models}</td>` +
      `<td>${meter(view.computeUtil)}</td><td>${meter(view.memoryUtil)}</td><td></td><td class="n">${esc(usd(view.costPerHour))}</td>` +
      (mixed
        ? `<td class="n">-</td><td class="n">-</td><td>${esc(costAgainst(view))}</td>`
        : `<td class="n">${esc(num(view.tightBound?.gpus))}</td>`) +
      `<td class="n">${esc(saved(view.gpuCount, view.dedicated))}</td>` +
      `<td class="n">${esc(saved(view.gpuCount, view.noMig))}</td><td class="n">${view.nodeConfigurations}</td></tr>`,
  );
  const bound = mixed
    ? 'Cost bound ' +
      esc(
        view.costBound !== undefined
          ? `${usd(view.costBound)}/h, whatever GPU types a plan uses (this plan: ${versusBound(view)})`
          : 'not computed',
      )
    : 'Tight bound ' +
      esc(view.tightBound ? `${view.tightBound.gpus} GPUs, ${usd(view.tightBound.costPerHour)}/h (${versusBound(view)})` : 'not computed');
  const vs =
    `<p class="muted">${bound}; against dedicated (${esc(num(view.dedicated))} GPUs): ` +
    `${esc(versus(view.gpuCount, view.dedicated))}; ` +
    `against no MIG (${esc(num(view.noMig))} GPUs): ${esc(versus(view.gpuCount, view.noMig))}.</p>`;
  return (
    `<table class="types"><thead><tr><th>GPU type</th><th class="n">GPUs</th><th>slices by profile</th><th class="n">models</th>` +
    `<th>compute held</th><th>memory used</th><th class="n">price/GPU/h</th><th class="n">cost/h</th>` +
    (mixed
      ? '<th class="n" title="GPUs (DESIGN.md lower bound) of the demand placed on this type, on this type alone">lower bound</th>'
      : '') +
    `<th class="n" title="GPUs: no plan meeting the feasibility rules serves the demand placed on this type with fewer">tight bound</th>` +
    (mixed ? '<th title="this type\'s GPUs against its tight bound; the total: cost against the cost bound">against the bound</th>' : '') +
    `<th class="n" title="GPUs saved against one whole GPU per model replica (baseline GPUs)">vs dedicated</th>` +
    `<th class="n" title="GPUs saved against whole GPUs shared by Triton without MIG (baseline GPUs)">vs no MIG</th>` +
    `<th class="n">node configs</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>${vs}`
  );
}

function saved(gpus: number, baseline: number | undefined): string {
  if (baseline === undefined || baseline <= 0) return '-';
  return `${pct(1 - gpus / baseline)} (${num(baseline)})`;
}

function meter(x: number): string {
  const w = Math.max(0, Math.min(1, x)) * 100;
  return `<span class="meter"><span style="width:${w.toFixed(1)}%"></span></span> ${esc(pct(x))}`;
}

function legend(colors: ReadonlyMap<string, string>): string {
  return `<div class="legend">${[...colors.entries()]
    .map(([t, c]) => `<span><span class="chip" style="background:${c}"></span>${esc(t)}</span>`)
    .join('')}</div>`;
}

function nodeSection(n: NodeView, colors: ReadonlyMap<string, string>, cold: ColdTierView | undefined): string {
  const facts = [
    n.gpuType,
    n.instanceType,
    n.migConfig ? `config ${n.migConfig}` : undefined,
    `${n.gpus.length} GPU${n.gpus.length === 1 ? '' : 's'}`,
  ].filter((x): x is string => !!x);
  return (
    `<article class="node"><h3>${esc(n.name)} <span class="facts">${facts.map((f) => `<span>${esc(f)}</span>`).join('')}</span></h3>` +
    `<div class="gpus">${n.gpus.map((g) => gpuCard(g, colors, cold)).join('')}${idleCard(n)}</div></article>`
  );
}

function idleCard(n: NodeView): string {
  if (n.idleGpus === 0) return '';
  return (
    `<div class="gpu-card idle"><div class="gpu-head"><b>${n.idleGpus} idle GPU${n.idleGpus === 1 ? '' : 's'}</b></div>` +
    `<p class="muted">The ${esc(n.instanceType ?? 'instance')} has ${n.gpus.length + n.idleGpus} GPUs; ` +
    `the plan places no model on ${n.idleGpus} of them. ` +
    'They are paid for with the node' +
    `${n.migConfig && n.migConfig !== 'all-disabled' ? ` and carry the layout of ${esc(n.migConfig)}` : ''}: ` +
    'room to grow without a new node.</p></div>'
  );
}

function gpuCard(g: GpuView, colors: ReadonlyMap<string, string>, cold: ColdTierView | undefined): string {
  return (
    `<div class="gpu-card" id="${esc(g.id)}"><div class="gpu-head"><b>${esc(g.id)}</b> ` +
    `<span class="muted">${esc(g.type)} · ${g.mig ? 'MIG' : 'whole'}</span>` +
    `<span class="util">compute ${meter(g.computeUtil)} memory ${meter(g.memoryUtil)}</span></div>${gpuSvg(g, colors, cold)}</div>`
  );
}

function configsTable(view: PlanView): string {
  if (view.migConfigs.length === 0) return '<p class="muted">the plan lists no node configurations</p>';
  const rows = view.migConfigs.map(
    (c) =>
      `<tr><td><code>${esc(c.name)}</code></td><td>${esc(c.gpuType)}</td><td>${esc(c.instanceType)}</td>` +
      `<td class="n">${c.nodes}</td><td>${deviceRuns(c.devices)
        .map(
          (run) =>
            `<div>${c.devices.length > 1 ? `<span class="muted">${esc(run.label)}:</span> ` : ''}` +
            `${run.slices.map((s) => `<span class="pill">${esc(s.profile)}@${s.start}</span>`).join(' ')}</div>`,
        )
        .join('')}</td></tr>`,
  );
  return (
    '<table><thead><tr><th>config</th><th>GPU type</th><th>instance</th>' +
    '<th class="n">nodes</th><th>layout (profile@start)</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table>` +
    '<p class="muted">Each configuration is one <code>nvidia.com/mig.config</code> value, one node pool to operate.</p>'
  );
}

/** Consecutive GPU indexes with the same layout, merged: `GPU 0`, `GPUs 2–7`. */
function deviceRuns(
  devices: readonly (readonly { profile: string; start: number }[])[],
): { label: string; slices: readonly { profile: string; start: number }[] }[] {
  const key = (d: readonly { profile: string; start: number }[]): string => d.map((s) => `${s.profile}@${s.start}`).join(',');
  const runs: { from: number; to: number; slices: readonly { profile: string; start: number }[] }[] = [];
  devices.forEach((d, i) => {
    const last = runs[runs.length - 1];
    if (last && key(last.slices) === key(d)) last.to = i;
    else runs.push({ from: i, to: i, slices: d });
  });
  return runs.map((r) => ({ label: r.from === r.to ? `GPU ${r.from}` : `GPUs ${r.from}–${r.to}`, slices: r.slices }));
}

function modelIndex(view: PlanView): string {
  const byModel = new Map<string, { team: string; rps: number; memory: number; where: string[] }>();
  for (const g of view.gpus) {
    for (const s of g.slices) {
      for (const m of s.models) {
        const e = byModel.get(m.name) ?? { team: m.team, rps: 0, memory: 0, where: [] };
        e.rps += m.rps;
        e.memory += m.memoryGiB;
        e.where.push(
          `${g.id} ${s.profile === 'whole' ? 'whole' : `${s.profile}@${s.start}`} (${sharePct(m.share)}, b${m.batch}×${m.instances})`,
        );
        byModel.set(m.name, e);
      }
    }
  }
  for (const m of view.cold?.models ?? []) {
    const e = byModel.get(m.name) ?? { team: m.team, rps: 0, memory: 0, where: [] };
    e.rps += m.rps;
    e.where.push('cold tier: loaded on demand by the router');
    byModel.set(m.name, e);
  }
  const rows = [...byModel.entries()]
    .sort((a, b) => compareText(a[0], b[0]))
    .map(
      ([name, e]) =>
        `<tr><td>${esc(name)}</td><td>${esc(e.team)}</td><td class="n">${esc(num(e.rps, 1))}</td><td class="n">${esc(gib(e.memory))}</td>` +
        `<td>${e.where.map((w) => `<span class="pill">${esc(w)}</span>`).join(' ')}</td></tr>`,
    );
  return (
    `<section class="panel"><details><summary><h2>Models (${byModel.size})</h2></summary>` +
    '<table><thead><tr><th>model</th><th>team</th><th class="n">rps placed</th>' +
    '<th class="n">memory</th><th>placements (share, batch × instances)</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table></details></section>`
  );
}

function coldTier(view: PlanView, colors: ReadonlyMap<string, string>): string {
  const c = view.cold;
  if (!c) return '';
  const rps = c.models.reduce((a, m) => a + m.rps, 0);
  const facts = [
    `<b>${c.models.length}</b> models below ${esc(num(c.belowRps))} rps (${esc(num(rps, 1))} rps together) have no permanent seat`,
    `<b>${c.slices.length}</b> cache slice${c.slices.length === 1 ? '' : 's'}: ` +
      c.slices.map((x) => `<span class="pill">${esc(x)}</span>`).join(' '),
    `${esc(gib(c.cacheGiB))} held for loaded models, for a ${esc(pct(c.hitRateTarget))} hit-rate target; ` +
      'a miss waits for its model to load',
    `GPUs with a seat for every cold model: ${esc(num(c.gpusWithSeats))}; ` +
      `with the cold tier: ${view.gpuCount} (${esc(num(c.gpusSaved))} saved)`,
  ];
  const chips = c.models
    .map(
      (m) =>
        `<span class="pill"><span class="chip" style="background:${colors.get(m.team) ?? '#888'}"></span>` +
        `${esc(m.name)} <span class="muted">${esc(num(m.rps, 1))} rps</span></span>`,
    )
    .join(' ');
  return (
    `<section class="panel"><h2>Cold tier (router)</h2><ul class="facts-list">${facts.map((f) => `<li>${f}</li>`).join('')}</ul>` +
    `<div class="cold-models">${chips}</div></section>`
  );
}

function notes(view: PlanView): string {
  if (view.notes.length === 0) return '';
  return `<section class="panel"><h2>Notes</h2><ul>${view.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></section>`;
}

function axisText(view: PlanView): string {
  const axes = [...new Set(view.gpus.filter((g) => g.axis > 1).map((g) => g.axis))];
  return axes.length === 1 ? `${axes[0]} memory slices` : 'memory-slice axis';
}

const CSS = `
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#f6f8fa;--card:#fff;--accent:#0b6bcb;--good:#1a7f37}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif}
main{max-width:1360px;margin:0 auto;padding:24px 20px 40px}
header h1{margin:2px 0 4px;font-size:28px}
.brand{color:var(--accent);font-weight:600;text-transform:uppercase;letter-spacing:.08em;font-size:12px}
.sub{margin:0 0 18px;color:var(--muted)}
h2{font-size:16px;margin:0 0 10px}
h3{font-size:15px;margin:0 0 10px;display:flex;align-items:center;gap:10px;flex-wrap:wrap}
section{margin:0 0 18px}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;overflow-x:auto}
svg.chart{max-width:720px}
.two{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.kpis{display:grid;grid-template-columns:repeat(6,1fr);gap:12px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.k-label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.k-value{font-size:28px;font-weight:650;margin:2px 0}
.k-note{color:var(--muted);font-size:12px}
.kpi.accent .k-value{color:var(--accent)}
.kpi.good .k-value{color:var(--good)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eaeef2;vertical-align:middle}
th{font-size:12px;color:var(--muted);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:600;border-top:2px solid var(--line)}
.muted{color:var(--muted)}
p.muted{font-size:12px;margin:8px 0 0}
.legend-line{margin:0 0 8px!important}
.chip{display:inline-block;width:11px;height:11px;border-radius:3px;margin-right:6px;vertical-align:-1px}
.barcell{width:30%}
.types th,.types td{white-space:nowrap}
.types td.wrap{white-space:normal}
.hbar{display:block;height:10px;border-radius:3px;opacity:.85}
.pill{display:inline-block;background:#eef1f4;border-radius:10px;padding:0 7px;margin:1px 0;font-size:12px;white-space:nowrap}
.meter{display:inline-block;width:60px;height:7px;background:#e6eaef;border-radius:4px;overflow:hidden;vertical-align:1px}
.meter span{display:block;height:100%;background:#57606a}
.legend{display:flex;flex-wrap:wrap;gap:14px;margin:0 0 12px;font-size:13px}
.node{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px;margin:0 0 14px}
.facts{display:flex;gap:6px;flex-wrap:wrap;font-weight:400}
.facts span{background:#eef1f4;border-radius:10px;padding:0 8px;font-size:12px;color:var(--muted)}
.gpus{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:12px;align-items:start}
.gpu-card.idle{border-style:dashed;background:#f6f8fa}
.gpu-card.idle p{margin:4px 0 2px;font-size:12px}
.gpu-card{border:1px solid #eaeef2;border-radius:8px;padding:8px 10px;background:#fbfcfd}
.gpu-head{display:flex;align-items:center;gap:8px;font-size:13px;margin-bottom:4px;flex-wrap:wrap}
.gpu-head .util{margin-left:auto;font-size:12px;color:var(--muted)}
svg{display:block;width:100%;height:auto;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif}
svg .axis{font-size:9px;fill:#8c959f}
svg .tick{stroke:#c5ccd3}
svg .slice-bg{fill:#fff;stroke:#aeb8c2}
svg .slice:hover .slice-bg{stroke:var(--accent);stroke-width:2}
svg .profile{font-size:12px;font-weight:650;fill:var(--fg)}
svg .detail{font-size:10px;fill:var(--muted)}
svg .track{fill:#eaeef2}
svg .mem{fill:#8c959f}
svg .row-bg{fill:#f3f5f7}
svg .name{font-size:11px;fill:var(--fg)}
svg .share{font-size:10px;fill:var(--muted);font-variant-numeric:tabular-nums}
svg .cache .slice-bg{fill:#f5f3ff;stroke:#8b7fc7;stroke-dasharray:5 3}
svg .cache-label{font-size:11px;font-weight:600;fill:#5b4ea6}
svg .mini-cache{fill:#d9d2f5;stroke:#8b7fc7}
.facts-list{margin:0 0 10px;padding-left:18px}
.cold-models{display:flex;flex-wrap:wrap;gap:4px}
svg .free rect{fill:#f6f8fa;stroke:#d0d7de;stroke-dasharray:4 3}
svg .free text{font-size:11px;fill:#8c959f}
svg.overview{width:100%}
svg .node-label{font-size:12px;font-weight:600;fill:var(--fg)}
svg .mini-bg{fill:#f6f8fa;stroke:#d0d7de;stroke-dasharray:3 2}
svg .mini-slice{fill:#e6eaef;stroke:#aeb8c2;stroke-width:.5}
svg .mini-id{font-size:8px;fill:#8c959f}
svg .idle{fill:none;stroke:#d0d7de;stroke-dasharray:3 2}
svg a:hover .mini-bg{stroke:var(--accent);stroke-width:2;stroke-dasharray:none}
.gpu-card:target{outline:2px solid var(--accent)}
svg.chart .label{font-size:12px;fill:var(--muted)}
svg.chart .value{font-size:12px;fill:var(--fg)}
svg.chart .plan rect{fill:var(--accent)}
svg.chart .bound rect{fill:#9fc5e8}
svg.chart .base rect{fill:#c5ccd3}
svg.chart .ceil{stroke:#0b6bcb;stroke-dasharray:3 3}
details summary{cursor:pointer;list-style:none}
details summary h2{display:inline}
details summary::before{content:"▸ ";color:var(--muted)}
details[open] summary::before{content:"▾ "}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
footer{color:var(--muted);font-size:12px;margin-top:24px}
@media (max-width:1100px){.kpis{grid-template-columns:repeat(3,1fr)}.two{grid-template-columns:1fr}}
@media print{body{background:#fff}.gpus{grid-template-columns:1fr 1fr}}
`;
