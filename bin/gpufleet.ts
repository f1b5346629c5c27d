/**
 * The gpufleet command line: `gpufleet plan`, `gpufleet report`, `gpufleet router`.
 * Run through `bin/gpufleet` (npx gpufleet) or `npm run gpufleet -- ...`; see docs/cli.md.
 */
import { run } from './lib/main';

export { main, run } from './lib/main';

if (require.main === module) run();
