/** HTML helpers for the report: escaping, team colours, text fitting. */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML/SVG element content and attribute values. */
export function esc(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Colour-blind-friendlier categorical palette (Tableau 10), then golden-angle hues. */
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#ff9da7', '#bab0ac'];

/** A colour per team, stable for a given sorted team list. */
export function teamColors(teams: readonly string[]): Map<string, string> {
  const sorted = [...new Set(teams)].sort();
  return new Map(sorted.map((t, i) => [t, i < PALETTE.length ? PALETTE[i] : `hsl(${Math.round((i * 137.508) % 360)}, 55%, 52%)`]));
}

/** Average glyph width of the report's sans-serif font at `size` px (for truncating SVG text). */
export function charWidth(size: number): number {
  return size * 0.55;
}

/** Truncates `text` with an ellipsis to fit `width` px at font `size`; '' when nothing fits. */
export function fit(text: string, width: number, size: number): string {
  const max = Math.floor(width / charWidth(size));
  if (text.length <= max) return text;
  if (max < 2) return '';
  return text.slice(0, max - 1) + '…';
}

/** A number with at most `digits` decimals, for SVG coordinates. */
export function r(x: number, digits = 1): string {
  return String(Number(x.toFixed(digits)));
}

/** A self-contained page: the title, inline CSS and the body inside <main>. */
export function htmlPage(title: string, css: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${css}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}
