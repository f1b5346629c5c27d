/**
 * The data of a migration (`gpufleet rebalance`): the ordered steps that take a running plan to a new
 * one, each step a list of actions on the serving world and the condition to wait for before the next.
 *
 * The world is what Kubernetes sees, not the plan's bookkeeping: a node offers MIG slices (or whole GPUs) by
 * profile — what the device plugin advertises — and a server (one Triton process on one slice) runs on some
 * free slice of its profile on its node, not on a given GPU index or placement start. Route weights send each
 * model's traffic to servers. The generator (`planMigration`) writes these types; the checker
 * (`checkMigration`) reads them and shares no code with the generator.
 */

/** A model a server serves, at one entry of its profile table. */
export interface ServerModel {
  readonly name: string;
  readonly batch: number;
  readonly instances: number;
  /** Fraction of the slice's time allotted to the model (as in the plan). */
  readonly share: number;
}

/** One Triton server on one slice of a node. */
export interface MigrationServer {
  /** Unique over the whole migration (running, target and temporary servers). */
  readonly id: string;
  readonly node: string;
  readonly gpuType: string;
  /** MIG profile of its slice, or `whole`. */
  readonly profile: string;
  /** Sorted by name; empty for a cache server. */
  readonly models: readonly ServerModel[];
  /** A cache server of the cold tier: the router loads cold models into it on demand. */
  readonly cache?: boolean;
  /** Started only to carry traffic while the migration needs it; stopped before the end. */
  readonly temporary?: boolean;
}

/** A node: its instance type and node configuration (the `nvidia.com/mig.config` value, or `all-disabled`). */
export interface MigrationNode {
  readonly name: string;
  readonly instanceType: string;
  readonly gpuType: string;
  readonly migConfig: string;
  /** The layout of each GPU of the node, in device order (one entry per GPU of the instance). */
  readonly gpus: readonly (readonly string[])[];
  /** Added only to carry temporary servers; removed before the end. */
  readonly temporary?: boolean;
}

/** Where the router sends one model's traffic: a fraction per server (`cold` = the router's cold tier). */
export interface RouteWeight {
  /** A server id, or `cold`. */
  readonly server: string;
  /** Fraction of the model's traffic, > 0; the weights of a model add up to 1. */
  readonly weight: number;
}

/** The id of the cold tier in routes: the model router loads the model into a cache server on demand. */
export const COLD_ROUTE = 'cold';

export type MigrationAction =
  /** A node joins (Karpenter launches it, or a node group grows), partitioned by its configuration. */
  | { readonly kind: 'add-node'; readonly node: MigrationNode }
  /** No new servers on the node; the servers on it keep running. */
  | { readonly kind: 'cordon'; readonly node: string }
  /** A server starts on a free slice of its profile and becomes ready (its models loaded). */
  | { readonly kind: 'start-server'; readonly server: MigrationServer }
  /**
   * The model's traffic is split by these weights from now on; `shares` changes the time allotted to the
   * model on servers that keep running (a re-weighting, no restart).
   */
  | {
      readonly kind: 'route';
      readonly model: string;
      readonly weights: readonly RouteWeight[];
      readonly shares?: readonly { readonly server: string; readonly share: number }[];
    }
  /** A server that receives no traffic stops; its slice is free. */
  | { readonly kind: 'stop-server'; readonly server: string }
  /** A cordoned node that runs no server gets a new configuration (`nvidia.com/mig.config`) in place. */
  | { readonly kind: 'recut'; readonly node: string; readonly migConfig: string; readonly gpus: readonly (readonly string[])[] }
  /** The node takes new servers again. */
  | { readonly kind: 'uncordon'; readonly node: string }
  /** A node that runs no server leaves (drained and terminated). */
  | { readonly kind: 'remove-node'; readonly node: string };

export type MigrationStepKind =
  'cordon' | 'add-nodes' | 'start-servers' | 'shift-traffic' | 'stop-servers' | 'recut' | 'uncordon' | 'remove-nodes';

/** Serving capacity of one model around a step (requests/s: Σ over routed servers of share × throughput). */
export interface ModelCapacity {
  readonly model: string;
  readonly before: number;
  readonly after: number;
  /** What the model must keep at every step: its demand (or the floor), capped by what it had before the migration. */
  readonly required: number;
  /** The model's demand in the new fleet (0 for a model that leaves the fleet). */
  readonly demand: number;
}

export interface MigrationStep {
  /** 1-based. */
  readonly index: number;
  readonly kind: MigrationStepKind;
  /** One line: what the step does. */
  readonly title: string;
  readonly actions: readonly MigrationAction[];
  /** What must hold before the next step starts (e.g. every new server ready). */
  readonly waitFor: readonly string[];
  /** Every model of the running plan or the new fleet, sorted by name. */
  readonly capacity: readonly ModelCapacity[];
}

/** Figures of a migration. */
export interface MigrationSummary {
  readonly steps: number;
  /** Models (still in the fleet) that lose a server they ran on and are served by another. */
  readonly modelsMoved: number;
  /** Models added to or removed from the fleet. */
  readonly modelsAdded: number;
  readonly modelsRemoved: number;
  readonly serversStarted: number;
  readonly serversStopped: number;
  /** Temporary servers (started and stopped within the migration). */
  readonly temporaryServers: number;
  /** Nodes of the target that did not run before, and running nodes the target does not keep. */
  readonly nodesAdded: number;
  readonly nodesRemoved: number;
  /** Nodes added only for temporary servers (and removed before the end). */
  readonly temporaryNodes: number;
  /** Nodes re-cut in place (`recut` actions) and their GPUs. */
  readonly nodesRecut: number;
  readonly gpusRecut: number;
  readonly gpusBefore: number;
  readonly gpusAfter: number;
  /** Most GPUs held at any point of the migration. */
  readonly peakGpus: number;
  /** peakGpus - max(gpusBefore, gpusAfter): GPUs held only for the migration. */
  readonly extraGpus: number;
  /** Smallest ratio capacity / required of any model after any step (>= 1: no model ever went below what it must keep). */
  readonly minHeadroom: number;
  /** Models whose capacity before the migration is below their new demand (grown or new models). */
  readonly shortAtStart: number;
  /** From the end of this step on, every model has at least its demand (0: already before the first step). */
  readonly atDemandFromStep: number;
}

export interface Migration {
  readonly fleet: string;
  /** The floor as a fraction of demand (1 = every model keeps its full demand). */
  readonly floor: number;
  readonly nodesBefore: readonly MigrationNode[];
  readonly serversBefore: readonly MigrationServer[];
  /** Routes before the first step, model → weights (sorted by model). */
  readonly routesBefore: readonly { readonly model: string; readonly weights: readonly RouteWeight[] }[];
  readonly steps: readonly MigrationStep[];
  readonly summary: MigrationSummary;
}
