/**
 * Entry point of the router image and of tests: `node runtime/main.js --config FILE` (compiled with the fleet files it
 * imports, Dockerfile).
 */
import { runRouterCli } from './cli';

runRouterCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`gpufleet router: ${e.message}\n`);
    process.exit(1);
  },
);
