/**
 * Team consumption in the CLI (docs/cli.md): `gpufleet plan --json` carries `summary.teamConsumption`, the summary
 * table has a row per team with its GPU-equivalents, cost and part in shared pools plus "(no team)" and "total" rows
 * that add up to the plan, and the report's Teams section shows the same figures. The issue-12 fleet (12 models,
 * 3 teams), in-process (cli-fixtures/run-cli.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadFleetFile } from '../constructs/fleet';
import { teamConsumption } from '../constructs/planner';
import type { Plan } from '../constructs/planner/types';
import { FIXTURES, htmlProblems, runCli, tempDir } from './cli-fixtures/run-cli';

const FLEET = path.join(FIXTURES, 'three-teams.fleet.yaml');
const SAVED = path.join(FIXTURES, 'three-teams.plan.json');
const usd = (x: number) => `$${x.toFixed(2)}`;

describe('gpufleet plan: teams', () => {
  let doc: Plan;
  let table: string;
  beforeAll(async () => {
    const json = await runCli(['plan', FLEET, '--json']);
    expect(json.code).toBe(0);
    doc = JSON.parse(json.stdout);
    const text = await runCli(['plan', FLEET]);
    expect(text.code).toBe(0);
    table = text.stdout;
  });

  test("--json: summary.teamConsumption is the planner's figure for the printed plan", () => {
    expect(doc.summary.teamConsumption).toEqual(teamConsumption(loadFleetFile(FLEET), doc));
    expect(doc.summary.teamConsumption!.teams.map((t) => t.team)).toEqual(['payments', 'search', 'vision']);
  });

  test('the summary table: a row per team with its figures, then (no team) and total matching the plan', () => {
    const section = table.slice(table.indexOf('\nteams\n'));
    expect(section).toMatch(/^team\s+models\s+rps\s+GPU equivalents\s+cost\/h\s+in shared pools\s+shared cost\/h$/m);
    for (const t of doc.summary.teamConsumption!.teams) {
      const row = new RegExp(
        `^${t.team}\\s+${t.models}\\s+[\\d.]+\\s+${t.gpuEquivalents.toFixed(2)}\\s+\\${usd(t.costPerHour)}\\s+` +
          `${t.inSharedPools.gpuEquivalents.toFixed(2)}\\s+\\${usd(t.inSharedPools.costPerHour)}$`,
        'm',
      );
      expect(section).toMatch(row);
    }
    const u = doc.summary.teamConsumption!.unassigned;
    expect(section).toMatch(new RegExp(`^\\(no team\\)\\s+${u.gpuEquivalents.toFixed(2)}\\s+\\${usd(u.costPerHour)}$`, 'm'));
    expect(section).toMatch(new RegExp(`^total\\s+12\\s+${doc.summary.gpuCount.toFixed(2)}\\s+\\${usd(doc.summary.costPerHour)}$`, 'm'));
    expect(section).toContain('in shared pools: the part in pools serving several teams');
  });
});

describe('gpufleet report: Teams section', () => {
  test("the saved plan's team figures, the shared part and the (no team) row, in well-formed HTML", async () => {
    const out = path.join(tempDir(), 'report.html');
    const r = await runCli(['report', FLEET, '--plan', SAVED, '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`report written to ${out}\n`);
    const html = fs.readFileSync(out, 'utf8');
    expect(htmlProblems(html)).toEqual([]);
    const teams = html.slice(html.indexOf('<table class="teams">'), html.indexOf('</table>', html.indexOf('<table class="teams">')));
    expect(teams).toContain('in shared pools');
    // payments: 0.3392 GPU-eq, $2.3335/h, all of it in shared pools (test/team-consumption.test.ts)
    expect(teams).toMatch(
      new RegExp(
        /payments<\/td><td class="n">4<\/td><td class="n">[\d.]+<\/td><td class="n">0\.34<\/td><td /.source +
          /class="n">\$2\.33<\/td><td class="n">0\.34<\/td><td class="n">\$2\.33<\/td>/.source,
      ),
    );
    expect(teams).toMatch(
      new RegExp(
        /vision<\/td><td class="n">4<\/td><td class="n">[\d.]+<\/td><td class="n">0\.10<\/td><td /.source +
          /class="n">\$0\.67<\/td><td class="n">0\.04<\/td><td class="n">\$0\.31<\/td>/.source,
      ),
    );
    expect(teams).toMatch(/\(no team\)<\/td><td><\/td><td><\/td><td class="n">0\.42<\/td><td class="n">\$2\.90<\/td>/);
    expect(teams).toMatch(/total<\/th><td class="n">12<\/td><td><\/td><td class="n">1\.00<\/td><td class="n">\$6\.88<\/td>/);
  });
});
