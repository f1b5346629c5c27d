/**
 * `gpufleet report` (the CLI's `main` in-process, cli-fixtures/run-cli.ts) writes a self-contained
 * HTML page that is well formed, draws one SVG per GPU with its slices to scale, names every model,
 * escapes text; plus the renderer on a hand-written plan, and a headless-Chromium render where
 * Chromium is installed.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { loadFleetFile } from '../constructs/fleet';
import { renderReport } from '../bin/lib/html-report';
import { buildPlanView } from '../bin/lib/plan-view';
import { sampleFleet, samplePlan } from './cli-fixtures/sample-plan';
import { fleetOf, model, synthProfiles } from './planner-fixtures';
import { describeIf } from './support/notes';
import { type CliResult, htmlProblems, REPO, runCli, SMALL_FLEET, tempDir } from './cli-fixtures/run-cli';

const count = (text: string, needle: string): number => text.split(needle).length - 1;

describe('gpufleet report FLEET --out FILE', () => {
  const out = path.join(tempDir(), 'site', 'plan.html');
  const fleet = loadFleetFile(SMALL_FLEET);
  let r: CliResult;
  let html = '';
  let planDoc: any;
  beforeAll(async () => {
    r = await runCli(['report', SMALL_FLEET, '--out', out]);
    html = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
    planDoc = JSON.parse((await runCli(['plan', SMALL_FLEET, '--json'])).stdout);
  });

  test('writes the page (creating the folder), exit 0, nothing on stdout', () => {
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`report written to ${out}`);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
  });

  test('is well formed: balanced tags, nothing unescaped', () => {
    expect(htmlProblems(html)).toEqual([]);
  });

  test('is self-contained: no script, no external assets', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\ssrc=/i);
    expect(html).not.toMatch(/\shref="(?!#)/i);
    expect(html).not.toMatch(/url\(|@import/i);
  });

  test('draws one SVG per GPU of the plan, with every slice', () => {
    expect(count(html, '<svg class="gpu"')).toBe(planDoc.gpus.length);
    const slices = planDoc.gpus.reduce((n: number, g: any) => n + g.slices.length, 0);
    expect(count(html, '<g class="slice">')).toBe(slices);
    for (const g of planDoc.gpus) expect(html).toContain(`aria-label="${g.id}: ${g.type}`);
  });

  test("the overview has one strip per GPU, each linking to that GPU's drawing", () => {
    expect(count(html, '<g class="mini">')).toBe(planDoc.gpus.length);
    for (const g of planDoc.gpus) {
      expect(html).toContain(`<a href="#${g.id}">`);
      expect(count(html, ` id="${g.id}"`)).toBe(1);
    }
  });

  test('names every model and team, with batch, instances and rps in tooltips', () => {
    for (const m of fleet.models) {
      expect(html).toContain(`<title>${m.name} (team ${m.team})`);
      expect(html).toContain(`<td>${m.name}</td>`);
    }
    const first = planDoc.gpus[0].slices[0].models[0];
    const tip = html.match(new RegExp(`<title>${first.name} \\(team [^<]*</title>`))![0];
    expect(tip).toContain(`batch ${first.batch}, ${first.instances} instance`);
    expect(tip).toContain(`rps served here`);
  });

  test('shows the summary: GPUs per type against their bound, cost against the cost bound, baselines', () => {
    const s = planDoc.summary;
    expect(html).toContain(`<div class="k-value">${s.gpuCount}</div>`);
    // the fleet offers A100-80GB and L4: each type against the bound of its demand, the total on cost
    for (const t of s.byType) {
      const against = t.gpus <= t.tightBound ? 'optimal: equals the bound' : `${Number((t.gpus / t.tightBound).toFixed(2))}x the bound`;
      expect(html).toContain(`${t.type} ${t.gpus}: ${against}`);
      expect(html).toContain(`<title>${t.type} bound: ${t.tightBound} ${t.type} (no packing of its demand uses fewer)</title>`);
    }
    const cost = Math.max(s.tightBound.costPerHour, s.costLowerBound);
    expect(html).toContain(`at least $${cost.toFixed(2)} with any GPU types`);
    expect(html).not.toContain(`tight bound ${s.tightBound.gpus}:`);
    expect(html).toContain(`${s.baselines.dedicated} → ${s.gpuCount} GPUs`);
    expect(html).toContain(`${s.baselines.noMig} → ${s.gpuCount} GPUs`);
    expect(html).toContain(`$${s.costPerHour.toFixed(2)}`);
  });

  test('--out - prints the same page on stdout', async () => {
    const r2 = await runCli(['report', SMALL_FLEET, '--out', '-']);
    expect(r2.code).toBe(0);
    expect(r2.stdout).toBe(html);
  });
});

describe('report renderer on a hand-written plan', () => {
  const html = renderReport(buildPlanView(sampleFleet, samplePlan), { source: 'sample.fleet.yaml' });

  test('well formed, one SVG per GPU, every model named', () => {
    expect(htmlProblems(html)).toEqual([]);
    expect(count(html, '<svg class="gpu"')).toBe(samplePlan.gpus.length);
    for (const m of sampleFleet.models) expect(html).toContain(`<title>${m.name} (team ${m.team})`);
  });

  test('slices are drawn to scale on the 8 memory slices: a 4g.40gb is as wide as the 4 free slices beside it', () => {
    const svgs = html.split('<svg class="gpu"').slice(1);
    const gpu2 = svgs[2];
    const slice = Number(gpu2.match(/<rect class="slice-bg" x="[\d.]+" y="[\d.]+" width="([\d.]+)"/)![1]);
    const free = Number(gpu2.match(/<g class="free">.*?<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"/)![1]);
    expect(slice).toBeCloseTo(free, 0);
    // gpu-0: 2g.20gb at 0 and 3g.40gb at 4 (4 memory slices): widths 2:4 (gaps aside)
    const widths = [...svgs[0].matchAll(/<rect class="slice-bg" x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths).toHaveLength(3);
    expect((widths[2] + 4) / (widths[0] + 4)).toBeCloseTo(2, 2);
  });

  test("team colours: one per team, and each model bar uses its team's colour", () => {
    const chips = [...html.matchAll(/<span class="chip" style="background:(#[0-9a-f]{6})"><\/span>(\w[\w-]*)/g)];
    const byTeam = new Map(chips.map((m) => [m[2], m[1]]));
    expect([...byTeam.keys()].sort()).toEqual(['ads', 'payments', 'search', 'vision']);
    expect(new Set(byTeam.values()).size).toBe(4);
    const resnet = html.match(/<g class="model"><title>resnet50 \(team vision\)[\s\S]*?<\/g>/)![0];
    expect(resnet).toContain(`fill="${byTeam.get('vision')}"`);
  });

  test('escapes text from the plan (notes)', () => {
    const evil = { ...samplePlan, summary: { ...samplePlan.summary, notes: ['<script>alert("x")</script> & <b>bold</b>'] } };
    const out = renderReport(buildPlanView(sampleFleet, evil));
    expect(out).not.toContain('<script>');
    expect(out).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;');
    expect(htmlProblems(out)).toEqual([]);
  });

  test('shows the idle GPUs of a partly used node', () => {
    // node-0 is a p4de.24xlarge (8 GPUs) with 3 GPUs in the plan
    expect(html).toContain('5 idle GPUs');
  });
});

describe('gpufleet report --plan (a saved plan document)', () => {
  test('draws the saved plan; its notes are escaped', async () => {
    const dir = tempDir();
    const planFile = path.join(dir, 'plan.json');
    expect((await runCli(['plan', SMALL_FLEET, '--json', '--out', planFile])).code).toBe(0);
    const doc = JSON.parse(fs.readFileSync(planFile, 'utf8'));
    doc.summary.notes = ['reviewed by <finance> & "on-call"'];
    fs.writeFileSync(planFile, JSON.stringify(doc));
    const out = path.join(dir, 'plan.html');
    const r = await runCli(['report', SMALL_FLEET, '--plan', planFile, '--out', out]);
    expect(r.stderr).toContain('report written');
    expect(r.code).toBe(0);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toContain('reviewed by &lt;finance&gt; &amp; &quot;on-call&quot;');
    expect(htmlProblems(html)).toEqual([]);
  });
});

describe('gpufleet report with a cold tier (coldBelowRps)', () => {
  test('draws the cache slices and names every cold model', async () => {
    // two busy models and 18 rarely used ones (half of test/planner-cold.test.ts's tail): here the cold tier saves a
    // GPU, so the planner keeps it (on the small CLI fleet it would not, and the plan says so in a note instead); the
    // default effort plans it in a tenth of the CPU the 36-model tail takes (0.3 s against 3.7 s)
    const G = 'A100-80GB';
    const fleet = fleetOf(
      [
        model('busy-a', 900, 100, 1.5, synthProfiles(G, 300)),
        model('busy-b', 500, 150, 1, synthProfiles(G, 200)),
        ...Array.from({ length: 18 }, (_, i) =>
          model(`rare-${String(i).padStart(2, '0')}`, 0.2 + (i % 7) * 0.1, 80, 2, synthProfiles(G, 50)),
        ),
      ],
      [{ type: G, mig: true }],
      { coldBelowRps: 1 },
    );
    const fleetFile = path.join(tempDir(), 'cold.fleet.json');
    fs.writeFileSync(fleetFile, JSON.stringify(fleet));
    // planned once: `plan --out` writes the document the report draws and prints the summary table checked at the end
    const planFile = path.join(tempDir(), 'plan.json');
    const table = await runCli(['plan', fleetFile, '--out', planFile]);
    expect(table.code).toBe(0);
    const doc = JSON.parse(fs.readFileSync(planFile, 'utf8'));
    expect(doc.cold.models.length).toBeGreaterThan(0);
    const out = path.join(tempDir(), 'cold.html');
    const r = await runCli(['report', fleetFile, '--plan', planFile, '--out', out]);
    expect(r.code).toBe(0);
    const html = fs.readFileSync(out, 'utf8');
    expect(htmlProblems(html)).toEqual([]);
    expect(count(html, '<g class="slice cache">')).toBe(doc.cold.slices.length);
    expect(html).toContain('<h2>Cold tier (router)</h2>');
    for (const m of doc.cold.models) {
      expect(html).toContain(`${m.name} <span class="muted">`);
      expect(html).toContain(`<td>${m.name}</td>`);
    }
    expect(table.stdout).toContain('cold tier (router');
    for (const m of doc.cold.models) expect(table.stdout).toContain(`${m.name} (`);
  });
});

function findChromium(): string | undefined {
  for (const b of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${b}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return b;
  }
  return undefined;
}

const chromium = findChromium();
describeIf(chromium !== undefined, 'Chromium is not installed (chromium, chromium-browser or google-chrome on PATH)')(
  'the report renders in headless Chromium',
  () => {
    test('scripts/check-report.sh writes a non-trivial screenshot', () => {
      const dir = tempDir();
      const html = path.join(dir, 'plan.html');
      fs.writeFileSync(html, renderReport(buildPlanView(sampleFleet, samplePlan)));
      const png = path.join(dir, 'plan.png');
      execFileSync(path.join(REPO, 'scripts', 'check-report.sh'), [html, png, '1400x1000'], { stdio: 'pipe', timeout: 60_000 });
      const buf = fs.readFileSync(png);
      expect(buf.subarray(1, 4).toString()).toBe('PNG');
      expect(buf.length).toBeGreaterThan(20_000);
    });
  },
);
