/**
 * The cdk8s app of `npm run synth` (`cdk8s synth`): the default example platform into dist/, or the fleet and platform
 * files named by `GPUFLEET_FLEET` and `GPUFLEET_PLATFORM` (stacks/cdk8s-app.ts; docs/platform-file.md). Each model's
 * Triton `config.pbtxt` goes to dist/model-repository/<model>/config.pbtxt, for CI to upload beside the model files.
 * Bad input: one line per problem on stderr, exit code 2, nothing written.
 */
import { AppInputError, runCdk8sApp } from './cdk8s-app';

try {
  runCdk8sApp({ GPUFLEET_FLEET: process.env.GPUFLEET_FLEET, GPUFLEET_PLATFORM: process.env.GPUFLEET_PLATFORM });
} catch (e) {
  if (!(e instanceof AppInputError)) throw e;
  process.stderr.write(e.problems.map((p) => `${p}\n`).join(''));
  process.exitCode = 2;
}
