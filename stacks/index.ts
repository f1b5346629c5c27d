/**
 * The gpufleet Pulumi program (`Pulumi.yaml` → `main: stacks/index.ts`): `pulumi up` stands up a whole platform on
 * AWS from a fleet file. The program itself is `gpufleetProgram` (`stacks/program.ts`); the exports below are the
 * stack outputs (`pulumi stack output`), documented on `ProgramOutputs`.
 */
import * as pulumi from '@pulumi/pulumi';
import { gpufleetProgram, ROOT_DIR } from './program';

function organization(): string {
  try {
    return pulumi.getOrganization();
  } catch {
    return 'organization'; // older engines do not report it
  }
}

const out = gpufleetProgram(pulumi.runtime.allConfig(), {
  project: pulumi.getProject(),
  stack: pulumi.getStack(),
  organization: organization(),
  rootDir: ROOT_DIR,
});

export const clusterName = out.clusterName;
export const kubeconfig = out.kubeconfig;
export const bucketName = out.bucketName;
export const modelRepository = out.modelRepository;
export const modelReaderRoles = out.modelReaderRoles;
export const gpuNodeGroups = out.gpuNodeGroups;
export const costPerHour = out.costPerHour;
export const planSummary = out.planSummary;
export const chartObjectCount = out.chartObjectCount;
export const skippedObjects = out.skippedObjects;
export const prerequisiteInstalls = out.prerequisiteInstalls;
export const prerequisites = out.prerequisites;
export const modelRepositoryContents = out.modelRepositoryContents;
export const notAwaited = out.notAwaited;
export const platformFileOverridden = out.platformFileOverridden;
