/** The spec of `gpufleet rebalance` (flags and help), apart from its handler so that help loads no library. */
import type { CommandSpec } from './args';
import { MAX_INPUT_SIZE_FLAG } from './input-size';

export const REBALANCE: CommandSpec = {
  name: 'rebalance',
  summary: 'Re-plan a running fleet and print the checked migration: every model keeps its demand at every step.',
  positionals: [{ name: 'FLEET', description: 'the fleet file with its new demand (YAML or JSON)' }],
  flags: [
    {
      name: 'from',
      value: 'RUNNING_PLAN',
      description: 'the plan that runs now (from `gpufleet plan --json` or a previous rebalance --out); required',
    },
    { name: 'json', description: 'print the migration document as JSON on stdout, and nothing else' },
    {
      name: 'out',
      value: 'FILE',
      description: 'write the new plan document (JSON) to FILE: render it, and keep it as the next running plan',
    },
    {
      name: 'path',
      value: 'PATH',
      description: 'how nodes change: karpenter (default), node-groups (Pulumi) or in-place (re-cut nodes nothing replaces)',
    },
    { name: 'floor', value: 'FRACTION', description: 'fraction of its demand every model keeps at every step (0 < F <= 1, default 1)' },
    { name: 'move-price', value: 'USD', description: 'savings per hour each moved model must buy (default 0.5; 0 moves freely)' },
    { name: 'recut-price', value: 'USD', description: 'savings per hour each GPU re-cut in place must buy (default 1)' },
    MAX_INPUT_SIZE_FLAG,
  ],
  details: [
    'Keeps servers and layouts where they run unless moving them pays (--move-price, --recut-price), then orders',
    'the change: cordon what leaves, add nodes, start servers and wait until their models are loaded, move each',
    "model's traffic, stop servers that receive none, re-cut or remove empty nodes. Every step states each",
    "model's capacity before and after; the sequence is replayed by an independent checker before it is printed.",
    'An unchanged fleet gives an empty migration.',
  ],
  examples: [
    'gpufleet rebalance --from running.json fleet.yaml',
    'gpufleet rebalance --from running.json fleet.yaml --out next.json --json > migration.json',
    'gpufleet rebalance --from running.json fleet.yaml --path in-place --floor 0.9',
  ],
};
