/**
 * The cdk8s app of `npm run synth` (`cdk8s synth`): renders the default example platform
 * (examples/default-platform.ts) into dist/, and each model's Triton `config.pbtxt` into
 * dist/model-repository/<model>/config.pbtxt, for CI to upload beside the model files.
 */
import { App } from 'cdk8s';
import { ModelRepository } from '../constructs/k8s';
import { buildDefaultPlatform } from '../examples/default-platform';

const app = new App();
buildDefaultPlatform(app, 'default-platform');
app.synth();
ModelRepository.writeAllConfigs(app, app.outdir);
