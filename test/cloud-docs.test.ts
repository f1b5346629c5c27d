/**
 * The cost table of docs/cloud.md, computed with the real planner from the example fleets and the
 * catalog's on-demand prices. The test fails when the docs no longer match it, printing the table to paste.
 */
import * as fs from 'fs';
import * as path from 'path';
import { getInstanceType } from '../constructs/catalog';
import { loadFleetFile } from '../constructs/fleet';
import { plan } from '../constructs/planner';
import { nodePoolsOf } from '../constructs/planner/topology';

const ROOT = path.resolve(__dirname, '..');
const FLEETS = ['examples/payments-and-vision.fleet.yaml', 'examples/payments-and-vision-h100.fleet.yaml'];

/** One row per example fleet: the GPU node groups `pulumi up` creates and what they cost per hour. */
export function costRows(): string[] {
  return FLEETS.map((file) => {
    const p = plan(loadFleetFile(path.join(ROOT, file)));
    const groups = nodePoolsOf(p).nodePools.flatMap((pool) =>
      pool.instanceTypes.map(({ instanceType, nodes }) => {
        const i = getInstanceType(instanceType);
        const layout = pool.whole ? 'whole GPUs' : `MIG layout \`${pool.migConfig}\``;
        return `${nodes} × ${i.name} (${i.gpuCount} × ${i.gpuType}, ${layout}, $${i.onDemandUsdPerHour}/h)`;
      }),
    );
    return `| \`${file}\` | ${groups.join('; ')} | ${p.summary.gpuCount} | $${p.summary.costPerHour} |`;
  });
}

describe('docs/cloud.md cost table', () => {
  test('matches the plans of the example fleets', () => {
    const rows = costRows();
    const docs = fs.readFileSync(path.join(ROOT, 'docs/cloud.md'), 'utf8');
    const missing = rows.filter((row) => !docs.includes(row));
    if (missing.length > 0) {
      // the whole table, to paste into the docs when the examples or prices change
      const table = ['| fleet | GPU node groups | GPUs used | $/hour (GPU nodes) |', '|---|---|---|---|', ...rows].join('\n');
      throw new Error(`docs/cloud.md lacks ${missing.length} row(s) of the cost table; the table is now:\n${table}`);
    }
    expect(rows).toHaveLength(FLEETS.length);
  });
});
