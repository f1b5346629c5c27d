/**
 * The cdk8s app of `npm run synth` (`cdk8s synth`): renders the example GPU infrastructure into dist/.
 */
import { App } from 'cdk8s';
import { buildGpuInfrastructure } from '../examples/gpu-infrastructure';

const app = new App();
buildGpuInfrastructure(app, 'gpu-infrastructure');
app.synth();
