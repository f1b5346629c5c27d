/**
 * The six SLO scenarios of the ParvaGPU paper's artifact (Lee et al., SC 2024), repository
 * MunQ-Lee/ParvaGPU_SC24 at commit 5f3de1e, MIT licence: `SLO/SLO_req_rate.csv` (requests per
 * second) and `SLO/SLO_latency.csv` (latency SLO, ms), one row per scenario, one column per model
 * in the alphabetical order of `prof_data/*.csv`; "N/A" = the model is not in the scenario. The GPU
 * counts of ParvaGPU's own deployment maps (`deployment/SLO<n>/SLO<n>_ParvaGPU_deploy.csv`,
 * distinct node/GPU pairs) are given for comparison. These are the benchmark's inputs, quoted with
 * attribution; the per-model profile tables are read at run time from ../shared.
 */

/** Column order of the tables: the profile files in alphabetical order. */
export const PARVA_MODELS = [
  'bert', 'densenet121', 'densenet169', 'densenet201', 'inceptionv3', 'mobilenetv2', 'resnet101', 'resnet152', 'resnet50', 'vgg16', 'vgg19',
] as const;

const NA = undefined;

/** Requests per second per model, per scenario (SLO_req_rate.csv). */
export const PARVA_RPS: readonly (readonly (number | undefined)[])[] = [
  [19, 353, NA, NA, 460, 677, NA, NA, 829, NA, 354],
  [19, 353, 308, 276, 460, 677, 393, 281, 829, 410, 354],
  [46, 728, 633, 493, 1051, 1546, 760, 543, 1463, 780, 673],
  [69, 1091, 949, 739, 1576, 2318, 1140, 815, 2195, 1169, 1010],
  [843, 2228, 3507, 1513, 3815, 5009, 1874, 1340, 2796, 1773, 1531],
  [1264, 3342, 5260, 2269, 5722, 7513, 2811, 2010, 4196, 2659, 2296],
];

/** Latency SLO (ms) per model, per scenario (SLO_latency.csv). */
export const PARVA_SLO_MS: readonly (readonly (number | undefined)[])[] = [
  [6434, 183, NA, NA, 418.5, 167, NA, NA, 204.5, NA, 396.5],
  [6434, 183, 216.5, 168.5, 418.5, 167, 211.5, 212.5, 204.5, 399.5, 396.5],
  [4294, 126, 150, 119, 282, 113, 144, 146, 138, 227, 265],
  [4294, 126, 150, 119, 282, 113, 144, 146, 138, 227, 265],
  [2153, 69, 83.5, 69.5, 145.5, 59, 76.5, 79.5, 71.5, 114.5, 133.5],
  [6434, 183, 216.5, 168.5, 418.5, 167, 211.5, 212.5, 204.5, 399.5, 396.5],
];

/** GPUs of ParvaGPU's own deployment map per scenario (its MIG + MPS allocator, not our feasibility rules). */
export const PARVA_OWN_GPUS: readonly number[] = [2, 3, 5, 7, 13, 16];
