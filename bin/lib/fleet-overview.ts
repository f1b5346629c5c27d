/**
 * "At a glance": every node of the plan as a row and every GPU as a small strip on its
 * memory-slice axis, each slice filled with its models' time shares in team colours. Each strip
 * links to the GPU's detailed drawing further down the page (a plain in-page anchor, no script).
 */
import { pct } from './format';
import { esc, r } from './html';
import type { GpuView, PlanView } from './plan-view';

const LABEL_W = 78;
const STRIP_W = 88;
const STRIP_H = 20;
const GAP_X = 8;
const ROW_H = 30;
const PER_ROW = 8;

/** The overview SVG; one row per node (nodes with more than 8 GPUs wrap). */
export function fleetOverviewSvg(view: PlanView, colors: ReadonlyMap<string, string>): string {
  const rows: { label: string; gpus: readonly GpuView[]; idle: number }[] = [];
  for (const n of view.nodes) {
    for (let i = 0; i < Math.max(1, n.gpus.length); i += PER_ROW) {
      const chunk = n.gpus.slice(i, i + PER_ROW);
      const last = i + PER_ROW >= n.gpus.length;
      rows.push({ label: i === 0 ? n.name : '', gpus: chunk, idle: last ? n.idleGpus : 0 });
    }
  }
  const maxCells = Math.max(1, ...rows.map((row) => Math.min(PER_ROW, row.gpus.length + row.idle)));
  const width = LABEL_W + maxCells * (STRIP_W + GAP_X);
  const height = rows.length * ROW_H + 4;
  const p = [
    `<svg class="overview" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" ` +
      `style="max-width:${width}px" role="img" aria-label="every GPU of the plan at a glance">`,
  ];
  rows.forEach((row, ri) => {
    const y = 2 + ri * ROW_H;
    if (row.label) p.push(`<text class="node-label" x="0" y="${y + 14}">${esc(row.label)}</text>`);
    row.gpus.forEach((g, gi) => p.push(strip(g, LABEL_W + gi * (STRIP_W + GAP_X), y, colors)));
    for (let k = 0; k < row.idle && row.gpus.length + k < PER_ROW; k++) {
      const x = LABEL_W + (row.gpus.length + k) * (STRIP_W + GAP_X);
      p.push(
        `<rect class="idle" x="${x}" y="${y}" width="${STRIP_W}" height="${STRIP_H}" rx="3">` +
          '<title>idle GPU (no models; paid for with the node)</title></rect>',
      );
    }
  });
  p.push('</svg>');
  return p.join('');
}

function strip(g: GpuView, x: number, y: number, colors: ReadonlyMap<string, string>): string {
  const unit = STRIP_W / g.axis;
  const p = [
    `<a href="#${esc(g.id)}"><g class="mini">` +
      `<title>${esc(`${g.id} (${g.type}): compute ${pct(g.computeUtil)} held, memory ${pct(g.memoryUtil)} used`)}</title>`,
    `<rect class="mini-bg" x="${x}" y="${y}" width="${STRIP_W}" height="${STRIP_H}" rx="3"/>`,
  ];
  for (const s of g.slices) {
    const size = s.profile === 'whole' ? g.axis : s.memorySlices;
    const sx = x + s.start * unit + 0.75;
    const sw = size * unit - 1.5;
    const what = s.cache
      ? 'cache slice of the cold tier (router)'
      : `${s.models.length} model${s.models.length === 1 ? '' : 's'}, time ${pct(s.shareUsed)}`;
    p.push(`<g><title>${esc(`${g.id} ${s.profile === 'whole' ? 'whole GPU' : `${s.profile}@${s.start}`}: ${what}`)}</title>`);
    p.push(
      `<rect class="mini-slice${s.cache ? ' mini-cache' : ''}" x="${r(sx)}" y="${y + 1.5}" ` +
        `width="${r(sw)}" height="${STRIP_H - 3}" rx="2"/>`,
    );
    let cx = sx;
    for (const m of s.models) {
      const w = Math.max(0, Math.min(sw * Math.min(1, m.share), sx + sw - cx));
      if (w > 0)
        p.push(`<rect x="${r(cx)}" y="${y + 1.5}" width="${r(w)}" height="${STRIP_H - 3}" fill="${colors.get(m.team) ?? '#888'}"/>`);
      cx += w;
    }
    p.push('</g>');
  }
  p.push(`<text class="mini-id" x="${x + STRIP_W / 2}" y="${y + STRIP_H + 8}" text-anchor="middle">${esc(g.id)}</text></g></a>`);
  return p.join('');
}
