/**
 * `gpufleet report --from RUNNING_PLAN.json FLEET --out FILE.html`: the migration drawn — every GPU before and
 * after on its memory-slice axis (servers kept, stopped, started), what moves where, each model's capacity over
 * the steps against its demand, and the steps themselves. One self-contained page (inline CSS and SVG, no
 * script); every text from the fleet or the plans is escaped. The migration is the one `gpufleet rebalance`
 * prints, checked the same way before anything is drawn.
 */
import * as path from 'path';
import { findGpuType, findMigProfile } from '../../constructs/catalog';
import type { Migration, MigrationAction, ModelCapacity, Plan } from '../../constructs/planner';
import { type ParsedArgs } from './args';
import { CliInputError, EXIT_OK, usageError } from './errors';
import { num, usd } from './format';
import { esc, fit, r, teamColors, htmlPage } from './html';
import { checkOutputFile, writeOutputFile, writeStdout } from './output';
import { rebalance, rebalanceFlags, type RebalanceResult } from './rebalance';

export async function runMigrationReport(args: ParsedArgs, version: string): Promise<number> {
  const out = args.flags.out;
  if (typeof out !== 'string') throw usageError('missing --out FILE: the HTML page is written to a file ("--out -" for stdout)', 'report');
  if (args.flags.plan !== undefined)
    throw new CliInputError('--plan and --from: give one (--from draws the migration from a running plan)', {
      usage: true,
      command: 'report',
    });
  const from = args.flags.from as string;
  const fleetPath = args.positionals.FLEET;
  const flags = rebalanceFlags(args, 'report');
  if (out !== '-') checkOutputFile(out, { inputs: [fleetPath, from] });
  const x = rebalance(fleetPath, from, flags);
  const html = renderMigrationReport(x, { source: path.basename(fleetPath), version });
  if (out === '-') await writeStdout(html);
  else {
    writeOutputFile(out, html, { inputs: [fleetPath, from] });
    process.stderr.write(`migration report written to ${out}\n`);
  }
  return EXIT_OK;
}

export interface MigrationReportOptions {
  readonly source?: string;
  readonly version?: string;
}

type SliceState = 'kept' | 'stopped' | 'started' | 'cache' | 'free';

/** What the re-plan started from, in the report's subtitle. */
const BASIS_TEXT: Readonly<Record<RebalanceResult['replan']['basis'], string>> = {
  unchanged: 'the running plan already serves the fleet',
  stable: 'stable re-plan of the running plan',
  fresh: 'fresh plan mapped onto the running nodes',
};

export function renderMigrationReport(x: RebalanceResult, opts: MigrationReportOptions = {}): string {
  const { migration: m, replan: rp } = x;
  const teams = [...new Set(x.fleet.models.map((s) => s.team))];
  const colors = teamColors(teams);
  const teamOf = new Map(x.fleet.models.map((s) => [s.name, s.team]));
  const stopped = new Set(actionsOf(m, 'stop-server').map((a) => a.server));
  const started = new Set(
    actionsOf(m, 'start-server')
      .filter((a) => !a.server.temporary)
      .map((a) => a.server.id.replace(/~\d+$/, '')),
  );
  const s = m.summary;
  const before = planDrawing(x.running, (g, st) => (stopped.has(`${g}@${st}`) ? 'stopped' : 'kept'), colors, teamOf);
  const after = planDrawing(rp.plan, (g, st) => (started.has(`${g}@${st}`) ? 'started' : 'kept'), colors, teamOf);
  const body = [
    `<header><div class="brand">gpufleet migration</div><h1>${esc(x.fleet.name)}</h1>` +
      `<p class="sub">${esc(BASIS_TEXT[rp.basis])}` +
      ` · ${s.steps} step${s.steps === 1 ? '' : 's'} · path ${esc(x.path)} · ` +
      `checked: every model keeps ${m.floor < 1 ? `${num(m.floor * 100, 1)}% of ` : ''}its demand at every step</p></header>`,
    kpis(x),
    `<section class="panel"><h2>GPUs before and after</h2><p class="muted">Each GPU on its memory-slice axis. ` +
      '<span class="key kept"></span>kept <span class="key stopped"></span>stops <span class="key started"></span>new ' +
      '<span class="key cache"></span>cache (cold tier) <span class="key free"></span>free. ' +
      'Colour bars: the team of each model on the slice.</p>' +
      `<div class="two"><div><h3>before</h3>${before}</div>` +
      `<div><h3>after</h3>${after}</div></div></section>`,
    moves(x),
    capacityCharts(m),
    steps(x),
    x.runbook.notes.length > 0
      ? `<section class="panel"><h2>Notes</h2><ul>${x.runbook.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></section>`
      : '',
    `<footer>gpufleet${opts.version ? ` ${esc(opts.version)}` : ''} · migration of fleet <b>${esc(x.fleet.name)}</b>` +
      `${opts.source ? ` from <code>${esc(opts.source)}</code>` : ''}</footer>`,
  ].join('\n');
  return htmlPage(`gpufleet migration: ${x.fleet.name}`, CSS, body);
}

function actionsOf<K extends MigrationAction['kind']>(m: Migration, kind: K): Extract<MigrationAction, { kind: K }>[] {
  return m.steps.flatMap((s) => s.actions.filter((a): a is Extract<MigrationAction, { kind: K }> => a.kind === kind));
}

function kpis(x: RebalanceResult): string {
  const s = x.migration.summary;
  const c = x.replan.changes;
  const card = (label: string, value: string, note: string): string =>
    `<div class="kpi"><div class="k-label">${esc(label)}</div>` +
    `<div class="k-value">${esc(value)}</div><div class="k-note">${esc(note)}</div></div>`;
  return `<section class="kpis">${[
    card(
      'cost per hour',
      `${usd(c.costPerHourBefore)} → ${usd(c.costPerHourAfter)}`,
      `${usd((c.costPerHourAfter - c.costPerHourBefore) * 730)} per month`,
    ),
    card('GPUs', `${s.gpusBefore} → ${s.gpusAfter}`, `at most ${s.peakGpus} during the migration (${s.extraGpus} extra)`),
    card(
      'models moved',
      String(s.modelsMoved),
      `${c.modelsGrown.length} grown, ${c.modelsShrunk.length} shrunk, ${c.modelsAdded.length} added, ${c.modelsRemoved.length} removed`,
    ),
    card('servers', `+${s.serversStarted} −${s.serversStopped}`, `${s.temporaryServers} temporary`),
    card('GPUs re-cut', String(s.gpusRecut), `${s.nodesAdded} node(s) added, ${s.nodesRemoved} removed, ${s.temporaryNodes} temporary`),
    card(
      'lowest headroom',
      `${num(s.minHeadroom * 100, 1)}%`,
      s.shortAtStart > 0
        ? `${s.shortAtStart} model(s) below their new demand until step ${s.atDemandFromStep}`
        : 'capacity / what each model must keep',
    ),
  ].join('')}</section>`;
}

const W = 520;
const ROW = 34;

/** Every node and GPU of a plan as bars on the memory-slice axis, slices marked by what the migration does to them. */
function planDrawing(
  p: Plan,
  state: (gpu: string, start: number) => SliceState,
  colors: ReadonlyMap<string, string>,
  teamOf: ReadonlyMap<string, string>,
): string {
  if (p.gpus.length === 0) return '<p class="muted">no GPUs</p>';
  const byNode = new Map<string, Plan['gpus'][number][]>();
  for (const g of p.gpus) byNode.set(g.node, [...(byNode.get(g.node) ?? []), g]);
  const migOf = new Map((p.nodes ?? []).map((n) => [n.name, n.migConfig]));
  let y = 4;
  const parts: string[] = [];
  for (const [node, gpus] of [...byNode.entries()]) {
    parts.push(`<text class="node-label" x="2" y="${y + 11}">${esc(fit(`${node} · ${migOf.get(node) ?? ''}`, W - 4, 11))}</text>`);
    y += 16;
    for (const g of gpus) {
      const gpu = findGpuType(g.type);
      const axis = g.mig && gpu?.mig ? gpu.mig.memorySlices : 1;
      const unit = (W - 70) / axis;
      parts.push(`<text class="gpu-id" x="2" y="${y + ROW / 2 + 4}">${esc(fit(g.id, 64, 10))}</text>`);
      parts.push(`<rect class="gpu-bg" x="68" y="${y}" width="${r(W - 70)}" height="${ROW - 6}" rx="4"/>`);
      for (const sl of g.slices) {
        const size = sl.profile === 'whole' ? axis : (findMigProfile(g.type, sl.profile)?.memorySlices ?? 1);
        const st: SliceState = sl.cache ? 'cache' : sl.models.length === 0 ? 'free' : state(g.id, sl.start);
        const x0 = 68 + sl.start * unit + 1;
        const w = size * unit - 2;
        const names = sl.models.map((mm) => mm.name);
        const tip = `${g.id} ${sl.profile}@${sl.start}: ${sl.cache ? 'cache slice of the cold tier' : names.join(', ') || 'free'} (${st})`;
        parts.push(
          `<g class="slice ${st}"><title>${esc(tip)}</title><rect x="${r(x0)}" y="${y + 1}" width="${r(w)}" height="${ROW - 8}" rx="3"/>`,
        );
        let bx = x0 + 2;
        for (const mm of sl.models) {
          const bw = Math.max(1, (w - 4) * Math.min(1, mm.share));
          parts.push(
            `<rect class="team" x="${r(bx)}" y="${y + ROW - 12}" width="${r(Math.min(bw, x0 + w - 2 - bx))}" height="4" ` +
              `fill="${colors.get(teamOf.get(mm.name) ?? '') ?? '#888'}"/>`,
          );
          bx += bw;
        }
        parts.push(
          `<text class="slice-label" x="${r(x0 + 3)}" y="${y + 12}">` +
            `${esc(fit(sl.cache ? 'cache' : names.join(', ') || sl.profile, w - 6, 10))}</text></g>`,
        );
      }
      y += ROW;
    }
    y += 6;
  }
  return (
    `<svg class="plan" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${y}" role="img" aria-label="GPUs and slices">` +
    `${parts.join('')}</svg>`
  );
}

/** What moves where: per model that changes, the servers it leaves and those it gains. */
function moves(x: RebalanceResult): string {
  const m = x.migration;
  const before = new Map(m.serversBefore.map((s) => [s.id, s]));
  const rows = new Map<string, { from: string[]; to: string[] }>();
  const touch = (model: string): { from: string[]; to: string[] } => {
    const e = rows.get(model) ?? { from: [], to: [] };
    rows.set(model, e);
    return e;
  };
  for (const a of actionsOf(m, 'stop-server')) {
    const s = before.get(a.server);
    if (s) for (const mm of s.models) touch(mm.name).from.push(`${s.node} ${s.profile}`);
  }
  for (const a of actionsOf(m, 'start-server')) {
    if (a.server.temporary) continue;
    for (const mm of a.server.models) touch(mm.name).to.push(`${a.server.node} ${a.server.profile}`);
  }
  if (rows.size === 0)
    return (
      '<section class="panel"><h2>What moves where</h2>' +
      '<p class="muted">No server starts or stops: routes and time shares change at most.</p></section>'
    );
  const last = new Map(m.steps.length > 0 ? m.steps[m.steps.length - 1].capacity.map((c) => [c.model, c]) : []);
  const first = new Map(m.steps.length > 0 ? m.steps[0].capacity.map((c) => [c.model, c]) : []);
  const body = [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(
      ([model, e]) =>
        `<tr><td>${esc(model)}</td>` +
        `<td>${e.from.map((f) => `<span class="pill stop">${esc(f)}</span>`).join(' ') || '<span class="muted">–</span>'}</td>` +
        `<td>${e.to.map((t) => `<span class="pill new">${esc(t)}</span>`).join(' ') || '<span class="muted">–</span>'}</td>` +
        `<td class="n">${esc(num(first.get(model)?.before ?? 0, 1))} → ${esc(num(last.get(model)?.after ?? 0, 1))}</td>` +
        `<td class="n">${esc(num(last.get(model)?.demand ?? 0, 1))}</td></tr>`,
    );
  return (
    '<section class="panel"><h2>What moves where</h2>' +
    '<table><thead><tr><th>model</th><th>leaves (node, slice)</th><th>gains (node, slice)</th>' +
    `<th class="n">capacity rps</th><th class="n">demand rps</th></tr></thead><tbody>${body.join('')}</tbody></table></section>`
  );
}

const CW = 260;
const CH = 90;

/** Each model whose capacity changes: capacity after each step against its demand and what it must keep. */
function capacityCharts(m: Migration): string {
  if (m.steps.length === 0) return '';
  const models = m.steps[0].capacity
    .map((c) => c.model)
    .filter((name) =>
      m.steps.some((s) => {
        const c = s.capacity.find((k) => k.model === name)!;
        return Math.abs(c.after - c.before) > 1e-9;
      }),
    );
  const steady = m.steps[0].capacity.length - models.length;
  const charts = models.map((name) =>
    chart(
      name,
      m.steps.map((s) => s.capacity.find((k) => k.model === name)!),
      m.steps.map((s) => s.kind),
    ),
  );
  return (
    '<section class="panel"><h2>Capacity over the steps</h2>' +
    '<p class="muted">Requests/s each model can be served after each step (line) against its demand ' +
    '(dashed) and what it must keep at that step (grey band: its demand or floor, capped by what it had before the migration). ' +
    `${steady} other model(s) keep their capacity throughout.</p><div class="charts">${charts.join('')}</div></section>`
  );
}

function chart(name: string, caps: readonly ModelCapacity[], kinds: readonly string[]): string {
  const values = [caps[0].before, ...caps.map((c) => c.after)];
  const top = Math.max(...values, caps[0].demand, 1e-9) * 1.1;
  const L = 36;
  const x = (i: number): number => L + (i * (CW - L - 8)) / Math.max(1, values.length - 1);
  const y = (v: number): number => 8 + (CH - 26) * (1 - v / top);
  const line = values.map((v, i) => `${i === 0 ? 'M' : 'L'}${r(x(i))},${r(y(v))}`).join(' ');
  const req = [caps[0].required, ...caps.map((c) => c.required)];
  const band =
    req.map((v, i) => `${i === 0 ? 'M' : 'L'}${r(x(i))},${r(y(v))}`).join(' ') +
    ` L${r(x(values.length - 1))},${r(y(0))} L${r(x(0))},${r(y(0))} Z`;
  const dots = values
    .map(
      (v, i) =>
        `<circle cx="${r(x(i))}" cy="${r(y(v))}" r="2.5">` +
        `<title>${esc(i === 0 ? 'before the migration' : `after step ${i} (${kinds[i - 1]})`)}: ${esc(num(v, 1))} rps</title></circle>`,
    )
    .join('');
  return (
    `<figure class="cap"><figcaption>${esc(name)}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${CW} ${CH}" role="img" ` +
    `aria-label="${esc(`capacity of ${name} over the steps`)}">` +
    `<path class="req" d="${band}"/>` +
    `<line class="demand" x1="${L}" x2="${CW - 8}" y1="${r(y(caps[0].demand))}" y2="${r(y(caps[0].demand))}"/>` +
    `<path class="capline" d="${line}"/>${dots}` +
    `<text class="axis" x="${L - 4}" y="${r(y(caps[0].demand) + 3)}" text-anchor="end">${esc(num(caps[0].demand, 0))}</text>` +
    `<text class="axis" x="${L}" y="${CH - 4}">start</text>` +
    `<text class="axis" x="${CW - 8}" y="${CH - 4}" text-anchor="end">step ${caps.length}</text></svg></figure>`
  );
}

function steps(x: RebalanceResult): string {
  if (x.runbook.steps.length === 0) return '<section class="panel"><h2>Steps</h2><p class="muted">Nothing to do.</p></section>';
  const caps = new Map(x.migration.steps.map((s) => [s.index, s.capacity.filter((c) => Math.abs(c.after - c.before) > 1e-9)]));
  const items = x.runbook.steps.map((s) => {
    const changed = caps.get(s.index) ?? [];
    return (
      `<li><b>${esc(s.title)}</b> <span class="kind">${esc(s.kind)}</span><ul>` +
      s.operations.map((o) => `<li>${esc(o.text)}${o.command ? `<pre>${esc(o.command)}</pre>` : ''}</li>`).join('') +
      s.waitFor.map((w) => `<li class="wait">wait: ${esc(w.text)}${w.command ? `<pre>${esc(w.command)}</pre>` : ''}</li>`).join('') +
      (changed.length > 0
        ? `<li class="caps">capacity: ${changed
            .slice(0, 12)
            .map((c) => `${esc(c.model)} ${esc(num(c.before, 1))} → ${esc(num(c.after, 1))}`)
            .join('; ')}${changed.length > 12 ? `; and ${changed.length - 12} more` : ''}</li>`
        : '') +
      '</ul></li>'
    );
  });
  return `<section class="panel"><h2>Steps (${esc(x.path)})</h2><ol class="steps">${items.join('')}</ol></section>`;
}

const CSS =
  `
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#f6f8fa;--card:#fff;--accent:#0b6bcb;--good:#1a7f37;--bad:#cf222e}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif}
main{max-width:1360px;margin:0 auto;padding:24px 20px 40px}
header h1{margin:2px 0 4px;font-size:28px}
.brand{color:var(--accent);font-weight:600;text-transform:uppercase;letter-spacing:.08em;font-size:12px}
.sub{margin:0 0 18px;color:var(--muted)}
h2{font-size:16px;margin:0 0 10px}
h3{font-size:14px;margin:6px 0}
section{margin:0 0 18px}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;overflow-x:auto}
.two{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.kpis{display:grid;grid-template-columns:repeat(6,1fr);gap:12px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.k-label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.k-value{font-size:22px;font-weight:650;margin:2px 0}
.k-note{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eaeef2;vertical-align:middle}
th{font-size:12px;color:var(--muted);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:var(--muted)}
p.muted{font-size:12px;margin:0 0 8px}
.pill{display:inline-block;border-radius:10px;padding:0 7px;margin:1px 0;font-size:12px;white-space:nowrap;background:#eef1f4}
.pill.stop{background:#ffebe9;color:#82071e}
.pill.new{background:#dafbe1;color:#116329}
.key{display:inline-block;width:14px;height:10px;border-radius:2px;margin:0 4px 0 8px;vertical-align:0;border:1px solid #aeb8c2}
.key.kept{background:#eef1f4}.key.stopped{background:#ffebe9;border-color:#cf222e;border-style:dashed}
.key.started{background:#dafbe1;border-color:#1a7f37}.key.cache{background:#f5f3ff;border-color:#8b7fc7}` +
  `.key.free{background:#fff;border-style:dashed}
svg{display:block;width:100%;height:auto;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif}
svg .node-label{font-size:11px;font-weight:600;fill:var(--fg)}
svg .gpu-id{font-size:10px;fill:var(--muted)}
svg .gpu-bg{fill:#f6f8fa;stroke:#d0d7de}
svg .slice rect:first-of-type{stroke-width:1.2}
svg .kept rect:first-of-type{fill:#eef1f4;stroke:#aeb8c2}
svg .stopped rect:first-of-type{fill:#ffebe9;stroke:#cf222e;stroke-dasharray:4 2}
svg .started rect:first-of-type{fill:#dafbe1;stroke:#1a7f37}
svg .cache rect:first-of-type{fill:#f5f3ff;stroke:#8b7fc7;stroke-dasharray:5 3}
svg .free rect:first-of-type{fill:#fff;stroke:#d0d7de;stroke-dasharray:3 2}
svg .slice-label{font-size:10px;fill:var(--fg)}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:10px}
figure.cap{margin:0;border:1px solid #eaeef2;border-radius:8px;padding:6px 8px;background:#fbfcfd}
figure.cap figcaption{font-size:12px;font-weight:600}
svg .capline{fill:none;stroke:var(--accent);stroke-width:2}
svg circle{fill:var(--accent)}
svg .demand{stroke:var(--bad);stroke-dasharray:4 3}
svg .req{fill:#d0d7de;opacity:.5}
svg .axis{font-size:9px;fill:#8c959f}
ol.steps>li{margin:0 0 10px}
ol.steps ul{margin:4px 0 0;padding-left:18px}
ol.steps li.wait{color:var(--muted)}
ol.steps li.caps{color:var(--good)}
.kind{font-size:11px;color:var(--muted);background:#eef1f4;border-radius:8px;padding:0 6px}
pre{margin:2px 0;padding:4px 8px;background:#f6f8fa;border-radius:6px;font-size:12px;white-space:pre-wrap;word-break:break-all}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
footer{color:var(--muted);font-size:12px;margin-top:24px}
@media (max-width:1100px){.kpis{grid-template-columns:repeat(3,1fr)}.two{grid-template-columns:1fr}}
`;
