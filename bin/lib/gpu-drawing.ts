/**
 * SVG drawings of the report: one GPU with its MIG slices to scale on the memory-slice axis
 * (the axis `nvidia-smi mig -lgipp` places instances on), the models of each slice with their
 * share of the slice's time as a bar; and the GPU-count comparison chart. Inline SVG only:
 * tooltips are `<title>` elements, no script.
 */
import { gib, num, pct, sharePct, usd } from './format';
import { esc, fit, r } from './html';
import type { ColdTierView, GpuView, ModelOnSliceView, PlanView, SliceView } from './plan-view';

const W = 640;
const PAD = 6;
const AXIS_H = 16;
const GAP = 4;
const HEAD_H = 58;
const ROW_H = 20;
const BAR_H = 16;
const MIN_ROWS = 1;

/** Draws one GPU; `colors` maps team → colour; `cold` describes the cache slices' pool. */
export function gpuSvg(gpu: GpuView, colors: ReadonlyMap<string, string>, cold?: ColdTierView): string {
  const unit = (W - 2 * PAD) / gpu.axis;
  const rows = Math.max(MIN_ROWS, ...gpu.slices.map((s) => (s.cache ? 2 : s.models.length)));
  const sliceH = HEAD_H + rows * ROW_H + 6;
  const height = AXIS_H + sliceH + PAD;
  const parts: string[] = [];
  const label =
    `${gpu.id}: ${gpu.type}${gpu.mig ? ', MIG' : ', whole GPU'}, ` + `${gpu.slices.length} slice${gpu.slices.length === 1 ? '' : 's'}`;

  parts.push(`<svg class="gpu" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${r(height)}" role="img" aria-label="${esc(label)}">`);
  parts.push(`<title>${esc(label)}; compute ${pct(gpu.computeUtil)} held, memory ${pct(gpu.memoryUtil)} used</title>`);

  // memory-slice axis: ticks at every slice boundary (a GPU used whole gets a caption instead)
  if (gpu.axis > 1 && gpu.mig) {
    for (let i = 0; i <= gpu.axis; i++) {
      const x = PAD + i * unit;
      parts.push(`<line class="tick" x1="${r(x)}" y1="${AXIS_H - 5}" x2="${r(x)}" y2="${AXIS_H - 1}"/>`);
      if (i < gpu.axis) {
        parts.push(`<text class="axis" x="${r(x + unit / 2)}" y="${AXIS_H - 6}" text-anchor="middle">${i}</text>`);
      }
    }
  } else {
    parts.push(`<text class="axis" x="${r(W / 2)}" y="${AXIS_H - 6}" text-anchor="middle">whole GPU, ${esc(gib(gpu.memoryGiB))}</text>`);
  }

  // unused memory slices
  const used = new Array<boolean>(gpu.axis).fill(false);
  for (const s of gpu.slices) {
    const size = s.profile === 'whole' ? gpu.axis : s.memorySlices;
    for (let i = s.start; i < Math.min(gpu.axis, s.start + size); i++) used[i] = true;
  }
  for (let i = 0; i < gpu.axis; i++) {
    if (used[i]) continue;
    let j = i;
    while (j < gpu.axis && !used[j]) j++;
    const x = PAD + i * unit + GAP / 2;
    const w = (j - i) * unit - GAP;
    parts.push(
      `<g class="free"><title>memory slices ${i}–${j - 1}: not allocated</title>` +
        `<rect x="${r(x)}" y="${AXIS_H}" width="${r(w)}" height="${r(sliceH)}" rx="6"/>` +
        `<text x="${r(x + w / 2)}" y="${r(AXIS_H + sliceH / 2)}" text-anchor="middle">${w > 40 ? 'free' : ''}</text></g>`,
    );
    i = j - 1;
  }

  for (const s of gpu.slices) {
    const size = s.profile === 'whole' ? gpu.axis : s.memorySlices;
    parts.push(sliceSvg(gpu, s, PAD + s.start * unit + GAP / 2, AXIS_H, size * unit - GAP, sliceH, colors, cold));
  }
  parts.push('</svg>');
  return parts.join('');
}

function sliceSvg(
  gpu: GpuView,
  s: SliceView,
  x: number,
  y: number,
  w: number,
  h: number,
  colors: ReadonlyMap<string, string>,
  cold: ColdTierView | undefined,
): string {
  const narrow = w < 110;
  const inner = w - (narrow ? 8 : 12);
  const x0 = x + (narrow ? 4 : 6);
  const name = s.profile === 'whole' ? 'whole GPU' : s.profile;
  const p: string[] = [];
  const title =
    `${name}${s.profile === 'whole' ? '' : ` at memory slice ${s.start}`}: ${s.computeSlices} of ${gpu.computeSlices} compute slices, ` +
    `${gib(s.capacityGiB)}; memory used ${gib(s.usedGiB)} (${pct(ratio(s.usedGiB, s.capacityGiB))}); ` +
    (s.cache
      ? `cache slice of the cold tier: the router loads the ${cold?.models.length ?? 0} cold models into it on demand`
      : `time given to models ${pct(s.shareUsed)}; ${s.models.length} model${s.models.length === 1 ? '' : 's'}`);
  p.push(`<g class="slice${s.cache ? ' cache' : ''}"><title>${esc(title)}</title>`);
  p.push(`<rect class="slice-bg" x="${r(x)}" y="${r(y)}" width="${r(w)}" height="${r(h)}" rx="6"/>`);
  p.push(`<text class="profile" x="${r(x0)}" y="${r(y + 16)}">${esc(fit(name, inner, 12))}</text>`);
  const memText = `${num(s.usedGiB, 1)}/${num(s.capacityGiB, 1)} GiB`;
  const memShort = `${num(s.usedGiB, 1)}/${num(s.capacityGiB, 1)}G`;
  p.push(
    `<text class="detail" x="${r(x0)}" y="${r(y + 29)}">` +
      `${esc(fit(memText, inner, 10) === memText ? memText : fit(memShort, inner, 10))}</text>`,
  );

  // memory used
  const mem = Math.min(1, ratio(s.usedGiB, s.capacityGiB));
  p.push(`<rect class="track" x="${r(x0)}" y="${r(y + 34)}" width="${r(inner)}" height="5" rx="2"/>`);
  p.push(`<rect class="mem" x="${r(x0)}" y="${r(y + 34)}" width="${r(inner * mem)}" height="5" rx="2"/>`);

  // time: stacked shares by model, coloured by team
  p.push(`<rect class="track" x="${r(x0)}" y="${r(y + 43)}" width="${r(inner)}" height="8" rx="2"/>`);
  let cx = x0;
  for (const m of s.models) {
    const sw = inner * Math.max(0, Math.min(1, m.share));
    p.push(
      `<rect x="${r(cx)}" y="${r(y + 43)}" width="${r(Math.max(0, Math.min(sw, x0 + inner - cx)))}" ` +
        `height="8" fill="${colors.get(m.team) ?? '#888'}">` +
        `<title>${esc(`${m.name}: ${sharePct(m.share)} of the slice's time`)}</title></rect>`,
    );
    cx += sw;
  }

  if (s.cache) {
    // the cache's time goes to the cold models, drawn by their demand
    const total = (cold?.models ?? []).reduce((a, m) => a + m.rps, 0);
    for (const m of cold?.models ?? []) {
      const sw = total > 0 ? (inner * m.rps) / total : 0;
      p.push(
        `<rect x="${r(cx)}" y="${r(y + 43)}" width="${r(sw)}" height="8" fill="${colors.get(m.team) ?? '#888'}">` +
          `<title>${esc(`${m.name} (cold, team ${m.team}): ${num(m.rps, 1)} rps`)}</title></rect>`,
      );
      cx += sw;
    }
    const n = cold?.models.length ?? 0;
    const label = narrow ? `${n} cold` : `cache: ${n} cold model${n === 1 ? '' : 's'}`;
    p.push(`<text class="cache-label" x="${r(x0)}" y="${r(y + HEAD_H + 12)}">${esc(fit(label, inner, 11))}</text>`);
    p.push(
      `<text class="detail" x="${r(x0)}" y="${r(y + HEAD_H + ROW_H + 12)}">` +
        `${esc(fit(narrow ? 'on demand' : 'loaded on demand by the router', inner, 10))}</text>`,
    );
  }
  s.models.forEach((m, i) => p.push(modelRow(gpu, s, m, x0, y + HEAD_H + i * ROW_H, inner, colors.get(m.team) ?? '#888')));
  if (s.models.length === 0 && !s.cache) {
    p.push(`<text class="detail" x="${r(x0)}" y="${r(y + HEAD_H + 12)}">${esc(fit('spare: no models', inner, 10))}</text>`);
  }
  p.push('</g>');
  return p.join('');
}

function modelRow(gpu: GpuView, s: SliceView, m: ModelOnSliceView, x: number, y: number, w: number, color: string): string {
  const title = [
    `${m.name} (team ${m.team})`,
    `${gpu.id} ${s.profile === 'whole' ? 'whole GPU' : `${s.profile} at ${s.start}`}`,
    `share ${sharePct(m.share)} of the slice's time`,
    `batch ${m.batch}, ${m.instances} instance${m.instances === 1 ? '' : 's'}`,
    `${num(m.rps, 1)} rps served here`,
    `memory ${gib(m.memoryGiB)}`,
  ].join('\n');
  const fill = Math.max(0, Math.min(1, m.share)) * w;
  const showPct = w >= 110;
  const nameW = w - 9 - (showPct ? 34 : 0);
  // narrow slices: a smaller font before truncating (the full name is in the tooltip and the model index)
  const size = fit(m.name, nameW, 11) === m.name ? 11 : 10;
  return (
    `<g class="model"><title>${esc(title)}</title>` +
    `<rect class="row-bg" x="${r(x)}" y="${r(y)}" width="${r(w)}" height="${BAR_H}" rx="3"/>` +
    `<rect x="${r(x)}" y="${r(y)}" width="${r(fill)}" height="${BAR_H}" rx="3" fill="${color}" fill-opacity="0.38"/>` +
    `<rect x="${r(x)}" y="${r(y)}" width="3" height="${BAR_H}" fill="${color}"/>` +
    `<text class="name" x="${r(x + 6)}" y="${r(y + 12)}"${size === 11 ? '' : ` font-size="${size}"`}>` +
    `${esc(fit(m.name, nameW, size))}</text>` +
    (showPct ? `<text class="share" x="${r(x + w - 4)}" y="${r(y + 12)}" text-anchor="end">${sharePct(m.share)}</text>` : '') +
    '</g>'
  );
}

/** Bar chart: GPUs of this plan against the tight bound and the baselines. */
export function gpuCountChart(view: PlanView): string {
  if (view.typesOffered > 1) return typeCountChart(view);
  const rows: { label: string; value: number; cls: string; note: string }[] = [
    ...(view.tightBound
      ? [
          {
            label: 'tight bound',
            value: view.tightBound.gpus,
            cls: 'bound',
            note: `${view.tightBound.gpus} GPUs (no valid plan uses fewer)`,
          },
        ]
      : []),
    { label: 'this plan', value: view.gpuCount, cls: 'plan', note: `${view.gpuCount} GPUs` },
    { label: 'no MIG', value: view.noMig, cls: 'base', note: `${num(view.noMig)} GPUs: whole GPUs shared by Triton` },
    { label: 'dedicated', value: view.dedicated, cls: 'base', note: `${num(view.dedicated)} GPUs: one per model replica` },
  ];
  const max = Math.max(1, ...rows.map((x) => x.value));
  const labelW = 96;
  const barW = W - labelW - 8;
  const rowH = 30;
  const h = rows.length * rowH + 8;
  const p = [
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${h}" role="img" ` +
      'aria-label="GPUs: this plan against the tight bound and the baselines">',
  ];
  rows.forEach((row, i) => {
    const y = 4 + i * rowH;
    const bw = Math.max(2, (barW * row.value) / max);
    p.push(
      `<g class="${row.cls}"><title>${esc(`${row.label}: ${row.note}`)}</title>` +
        `<text class="label" x="${labelW - 8}" y="${y + 17}" text-anchor="end">${esc(row.label)}</text>` +
        `<rect x="${labelW}" y="${y + 3}" width="${r(bw)}" height="20" rx="3"/>` +
        `<text class="value" x="${r(labelW + bw + 6 > W - 200 ? labelW + bw - 6 : labelW + bw + 6)}" y="${y + 17}"` +
        `${labelW + bw + 6 > W - 200 ? ' text-anchor="end" fill="#fff"' : ''}>${esc(row.note)}</text></g>`,
    );
  });
  if (view.tightBound && view.tightBound.gpus > 0) {
    const x = labelW + (barW * view.tightBound.gpus) / max;
    p.push(
      `<line class="ceil" x1="${r(x)}" y1="2" x2="${r(x)}" y2="${h - 2}"><title>tight bound: ${view.tightBound.gpus} GPUs</title></line>`,
    );
  }
  p.push('</svg>');
  return p.join('');
}

/**
 * Several GPU types: per type the plan uses, its GPUs against the tight bound of the demand placed on it
 * (GPU counts of different types are never drawn on one comparison).
 */
function typeCountChart(view: PlanView): string {
  const rows: { label: string; value: number; cls: string; note: string }[] = [];
  for (const t of view.types) {
    if (t.tightBound !== undefined)
      rows.push({
        label: `${t.type} bound`,
        value: t.tightBound,
        cls: 'bound',
        note: `${t.tightBound} ${t.type} (no packing of its demand uses fewer)`,
      });
    rows.push({ label: `${t.type} plan`, value: t.gpus, cls: 'plan', note: `${t.gpus} ${t.type}, ${usd(t.costPerHour)}/h` });
  }
  const max = Math.max(1, ...rows.map((x) => x.value));
  const labelW = 150;
  const barW = W - labelW - 8;
  const rowH = 30;
  const h = rows.length * rowH + 8;
  const p = [
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${h}" role="img" ` +
      'aria-label="GPUs per GPU type: this plan against the tight bound of the demand placed on each type">',
  ];
  rows.forEach((row, i) => {
    const y = 4 + i * rowH;
    const bw = Math.max(2, (barW * row.value) / max);
    const inside = labelW + bw + 6 > W - 240;
    p.push(
      `<g class="${row.cls}"><title>${esc(`${row.label}: ${row.note}`)}</title>` +
        `<text class="label" x="${labelW - 8}" y="${y + 17}" text-anchor="end">${esc(row.label)}</text>` +
        `<rect x="${labelW}" y="${y + 3}" width="${r(bw)}" height="20" rx="3"/>` +
        `<text class="value" x="${r(inside ? labelW + bw - 6 : labelW + bw + 6)}" y="${y + 17}"` +
        `${inside ? ' text-anchor="end" fill="#fff"' : ''}>${esc(row.note)}</text></g>`,
    );
  });
  p.push('</svg>');
  return p.join('');
}

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 0;
}
