/**
 * `npm run bench`: runs every `bench/*.bench.ts` in name order and prints its figures.
 * Each bench module exports `run(): Promise<void>`. Pass names to run a subset:
 * `npm run bench -- planner`.
 */
import { readdirSync } from 'fs';
import { cpus } from 'os';
import { join } from 'path';

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
    .sort();
  if (files.length === 0) {
    console.error(`no benchmark matches ${only.join(', ')}`);
    process.exit(2);
  }
  console.log(`gpufleet bench — node ${process.version}, ${cpus().length} cores`);
  for (const f of files) {
    console.log(`\n=== ${f.replace(/\.bench\.ts$/, '')} ===`);
    const mod = await import(join(__dirname, f));
    await mod.run();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
