/**
 * A hand-written fleet and plan for rendering tests of the CLI's table and HTML report: two GPU
 * types, MIG and whole GPUs, four teams, shared and dedicated slices. Not a planner output.
 */
import type { Fleet, ModelSpec } from '../../constructs/fleet/types';
import type { Plan, PlanModel } from '../../constructs/planner/types';

const model = (name: string, team: string, rps: number, memoryGiB: number): ModelSpec => ({
  name, team, rps, latencySloMs: 200, memoryGiB, profiles: [], throughputPerGpu: { 'A100-80GB': rps * 4, L4: rps * 4 },
});

export const sampleFleet: Fleet = {
  name: 'payments-and-vision',
  latencyHeadroom: 0.5,
  processOverheadGiB: 0.6,
  gpus: [{ type: 'A100-80GB', mig: true, pricePerGpuHour: 3.43 }, { type: 'L4', mig: false }],
  models: [
    model('resnet50', 'vision', 353, 1.0),
    model('efficientnet-b0', 'vision', 80, 0.8),
    model('yolo-v8', 'vision', 120, 2.5),
    model('bert-base', 'search', 210, 1.4),
    model('ranker-v2', 'ads', 900, 3.2),
    model('fraud-xgb', 'payments', 60, 0.4),
    model('fraud-gnn', 'payments', 45, 6.0),
    model('kyc-ocr', 'payments', 12, 4.5),
    model('embedder-small', 'search', 300, 2.0),
    model('ctr-deepfm', 'ads', 500, 5.5),
    model('llm-7b', 'search', 8, 30),
    model('whisper-small', 'vision', 6, 3.0),
    model('sentiment', 'ads', 40, 0.6),
    model('lang-id', 'search', 25, 0.3),
  ],
};

const m = (name: string, share: number, rps: number, batch = 8, instances = 1): PlanModel =>
  ({ name, batch, instances, share, rps });

export const samplePlan: Plan = {
  fleet: 'payments-and-vision',
  gpus: [
    {
      id: 'gpu-0', type: 'A100-80GB', node: 'node-0', mig: true,
      slices: [
        { profile: '2g.20gb', start: 0, models: [m('bert-base', 0.5, 210, 16), m('fraud-xgb', 0.3, 60, 4)] },
        { profile: '2g.20gb', start: 2, models: [m('ranker-v2', 0.9, 900, 32, 2)] },
        { profile: '3g.40gb', start: 4, models: [m('resnet50', 0.62, 353, 16), m('efficientnet-b0', 0.2, 80), m('yolo-v8', 0.15, 120, 4)] },
      ],
    },
    {
      id: 'gpu-1', type: 'A100-80GB', node: 'node-0', mig: true,
      slices: [0, 1, 2, 3, 4, 5, 6].map((start) => ({
        profile: '1g.10gb', start,
        models: [
          [m('fraud-gnn', 0.7, 45, 4)], [m('kyc-ocr', 0.4, 12, 1), m('sentiment', 0.35, 40)], [m('embedder-small', 0.55, 150, 16)],
          [m('embedder-small', 0.55, 150, 16)], [m('whisper-small', 0.8, 6, 1)],
          [m('ctr-deepfm', 0.95, 250, 64)], [m('ctr-deepfm', 0.95, 250, 64)],
        ][start],
      })),
    },
    {
      id: 'gpu-2', type: 'A100-80GB', node: 'node-0', mig: true,
      slices: [{ profile: '4g.40gb', start: 0, models: [m('llm-7b', 0.8, 8, 4)] }],
    },
    { id: 'gpu-3', type: 'L4', node: 'node-1', mig: false, slices: [{ profile: 'whole', start: 0, models: [m('lang-id', 0.1, 25, 8)] }] },
  ],
  nodes: [
    {
      name: 'node-0', instanceType: 'p4de.24xlarge', gpuType: 'A100-80GB', migConfig: 'gpufleet-a100-80gb-0',
      gpus: ['gpu-0', 'gpu-1', 'gpu-2'],
    },
    { name: 'node-1', instanceType: 'g6.xlarge', gpuType: 'L4', migConfig: 'all-disabled', gpus: ['gpu-3'] },
  ],
  migConfigs: [
    {
      name: 'gpufleet-a100-80gb-0', gpuType: 'A100-80GB', instanceType: 'p4de.24xlarge', nodes: 1,
      devices: [
        [{ profile: '2g.20gb', start: 0 }, { profile: '2g.20gb', start: 2 }, { profile: '3g.40gb', start: 4 }],
        [0, 1, 2, 3, 4, 5, 6].map((start) => ({ profile: '1g.10gb', start })),
        [{ profile: '4g.40gb', start: 0 }],
      ],
    },
    { name: 'all-disabled', gpuType: 'L4', instanceType: 'g6.xlarge', nodes: 1, devices: [[{ profile: 'whole', start: 0 }]] },
  ],
  summary: {
    gpuCount: 4,
    costPerHour: 11.09,
    lowerBound: 2.31,
    baselines: { dedicated: 16, noMig: 6 },
    nodeConfigurations: 2,
    notes: ['models without profiles: throughput on a slice of k compute slices = throughputPerGpu x k / 7 x 0.8'],
  },
};
