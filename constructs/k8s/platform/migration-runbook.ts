/**
 * A migration (`planMigration`) as what a cluster applies, step by step: the Kubernetes (and, for managed node
 * groups, Pulumi) operations of each step and the condition to wait for before the next. Servers become
 * replicas of Triton pools — a pool is one (node configuration, slice profile, model set), as
 * `planDeclaration` groups them — so starting and stopping servers is scaling pools; routes become per-model
 * weights over pools; nodes come and go by the path:
 *
 * - `karpenter`: a new layout is a new NodePool (its name is the layout's content name); Karpenter launches
 *   nodes for pending pods and drains and terminates a deleted node or NodePool;
 * - `node-groups`: the same through Pulumi: a node group per layout, desired sizes changed by `pulumi up`, a
 *   leaving node terminated by instance id (an Auto Scaling group would pick its own victim);
 * - `in-place`: nodes nothing replaces; a node changes layout by the safe procedure of `relayoutScript`
 *   (cordon, drain, relabel `nvidia.com/mig.config`, wait for `nvidia.com/mig.config.state=success`, uncordon).
 *
 * Plan nodes are names of the plan, not of the cluster: the runbook refers to them as `$NODE_<plan name>`, and
 * its notes say how to find each (a node labelled with its layout). Pure: nothing is applied here.
 */
import type { Fleet } from '../../fleet/types';
import {
  COLD_ROUTE,
  type Migration,
  type MigrationAction,
  type MigrationNode,
  type MigrationServer,
  type MigrationStep,
  type Plan,
} from '../../planner';
import { MIG_CONFIG_LABEL, TRITON_POOL_LABEL } from '../common/labels';
import { contentSuffixedPoolName } from '../../planner/topology';
import { planDeclaration, type PlannedPlatform } from './serving-platform-plan';

export type RunbookPath = 'karpenter' | 'node-groups' | 'in-place';

export interface RunbookOptions {
  /** How nodes are added, removed and re-cut. @default 'karpenter' */
  readonly path?: RunbookPath;
  /** Namespace of pools serving several teams' models, as rendered. @default 'serving-shared' */
  readonly sharedNamespace?: string;
}

/** One thing to do (or to wait for): a sentence, and the command when there is one. */
export interface RunbookOperation {
  readonly text: string;
  readonly command?: string;
}

export interface RunbookStep {
  readonly index: number;
  readonly kind: MigrationStep['kind'];
  readonly title: string;
  readonly operations: readonly RunbookOperation[];
  readonly waitFor: readonly RunbookOperation[];
}

export interface Runbook {
  readonly path: RunbookPath;
  readonly steps: readonly RunbookStep[];
  /** How to read the runbook: which cluster node each plan node is, which pools are renamed, ... */
  readonly notes: readonly string[];
}

interface PoolRef {
  name?: string;
  namespace?: string;
  description: string;
}

const nodeVar = (plan: string): string => `$NODE_${plan.replace(/[^A-Za-z0-9]/g, '_')}`;
const escLabel = (k: string): string => k.replace(/\./g, '\\.');

/** Pools of a rendering by content key (node configuration, profile, model set or `cache`). */
function poolsOf(decl: PlannedPlatform, sharedNamespace: string): Map<string, PoolRef> {
  const out = new Map<string, PoolRef>();
  const configOf = new Map(decl.nodePools.map((p) => [p.name, p.layout ? p.layout.name : 'all-disabled']));
  const cachePools = new Set(decl.cold?.pools ?? []);
  const add = (pool: { name: string; slice: string; models: readonly string[]; nodePool?: string }, namespace: string): void => {
    const cfg = configOf.get(pool.nodePool ?? '') ?? '?';
    const models = cachePools.has(pool.name) ? 'cache' : [...pool.models].sort().join(',');
    out.set(`${cfg}#${pool.slice}#${models}`, { name: pool.name, namespace, description: `pool ${pool.name}` });
  };
  for (const t of decl.teams) for (const p of t.pools ?? []) add(p, t.namespace ?? t.name);
  for (const p of decl.sharedPools) add(p, sharedNamespace);
  return out;
}

function declare(fleet: Fleet, plan: Plan): PlannedPlatform | undefined {
  const placed = new Set([
    ...plan.gpus.flatMap((g) => g.slices.flatMap((s) => s.models.map((m) => m.name))),
    ...(plan.cold?.models ?? []).map((m) => m.name),
  ]);
  // the rendering of a plan needs every model of the plan in the fleet (its team names the pools)
  if ([...placed].some((m) => !fleet.models.some((x) => x.name === m))) return undefined;
  try {
    return planDeclaration({ ...fleet, models: fleet.models.filter((m) => placed.has(m.name)) }, plan);
  } catch {
    return undefined;
  }
}

/** The runbook of a migration from `running` to `target` for `fleet`. */
export function migrationRunbook(fleet: Fleet, running: Plan, target: Plan, migration: Migration, options: RunbookOptions = {}): Runbook {
  const path = options.path ?? 'karpenter';
  if (!['karpenter', 'node-groups', 'in-place'].includes(path))
    throw new Error(`path: expected "karpenter", "node-groups" or "in-place", got ${JSON.stringify(path)}`);
  const shared = options.sharedNamespace ?? 'serving-shared';
  const before = declare(fleet, running);
  const after = declare(fleet, target);
  const runPools = before ? poolsOf(before, shared) : new Map<string, PoolRef>();
  const tgtPools = after ? poolsOf(after, shared) : new Map<string, PoolRef>();
  const writer = new RunbookWriter(path, migration, runPools, tgtPools);
  const steps = migration.steps.map((step) => writer.step(step));
  writer.addClosingNotes(before !== undefined, migration);
  return { path, steps, notes: writer.notes };
}

/** What one step does and what to wait for. */
interface StepOperations {
  readonly operations: RunbookOperation[];
  readonly waitFor: RunbookOperation[];
}

type AddNode = Extract<MigrationAction, { kind: 'add-node' }>;

/**
 * Writes a runbook step by step: keeps the world as the steps change it (nodes with their configuration, servers,
 * the pool each server belongs to), the pool each content key is given, the plan nodes referred to, and the notes.
 */
class RunbookWriter {
  public readonly notes: string[] = [];
  private readonly path: RunbookPath;
  private readonly runPools: ReadonlyMap<string, PoolRef>;
  private readonly tgtPools: ReadonlyMap<string, PoolRef>;
  /** Running pools by `namespace/name`. */
  private readonly runNames: ReadonlyMap<string, PoolRef>;
  /** The pool given to each content key so far. */
  private readonly chosen = new Map<string, PoolRef>();
  /** Nodes now, and every node ever seen (removed ones too). */
  private readonly nodes: Map<string, MigrationNode>;
  private readonly allNodes: Map<string, MigrationNode>;
  private readonly servers: Map<string, MigrationServer>;
  /** Server → its pool's content key. */
  private readonly serverKey: Map<string, string>;
  /** Stopped server → its pool key, and its node. */
  private readonly stopped = new Map<string, string>();
  private readonly stoppedOn = new Map<string, string>();
  private readonly usedNodes = new Set<string>();

  public constructor(
    path: RunbookPath,
    migration: Migration,
    runPools: ReadonlyMap<string, PoolRef>,
    tgtPools: ReadonlyMap<string, PoolRef>,
  ) {
    this.path = path;
    this.runPools = runPools;
    this.tgtPools = tgtPools;
    this.runNames = new Map([...runPools.values()].map((p) => [`${p.namespace}/${p.name}`, p]));
    this.nodes = new Map(migration.nodesBefore.map((n) => [n.name, n]));
    this.allNodes = new Map(this.nodes);
    this.servers = new Map(migration.serversBefore.map((s) => [s.id, s]));
    this.serverKey = new Map([...this.servers.values()].map((s) => [s.id, keyOf(s, this.nodes.get(s.node))]));
  }

  /** One runbook step: the world moved on by the step's actions, and the operations that move the cluster. */
  public step(step: MigrationStep): RunbookStep {
    const counts = this.replicas();
    for (const a of step.actions) this.apply(a);
    const next = this.replicas();
    const { operations, waitFor } = this.stepOperations(step, counts, next);
    return { index: step.index, kind: step.kind, title: step.title, operations, waitFor };
  }

  /** After the steps: unknown running pool names, renamed pools, and how to find each plan node referred to. */
  public addClosingNotes(runningKnown: boolean, migration: Migration): void {
    if (!runningKnown)
      this.notes.push(
        'pool names of the running plan are not known (a model of the running plan has left the fleet): ' +
          'its pools are described by their models',
      );
    for (const [k, r] of this.runPools) {
      const t = this.tgtPools.get(k);
      if (t && t.name !== r.name)
        this.notes.push(
          `pool ${r.namespace}/${r.name} keeps running under its name; the target rendering calls it ${t.namespace}/${t.name}`,
        );
    }
    if (
      [...this.tgtPools].some(([k, t]) =>
        [...this.runPools].some(([rk, r]) => rk !== k && r.name === t.name && r.namespace === t.namespace),
      )
    ) {
      this.notes.push(
        'do not apply the target rendering whole: it gives running pools other content under their names, which restarts them; ' +
          'apply these steps',
      );
    }
    const firstSeen = new Map(migration.nodesBefore.map((n) => [n.name, n]));
    for (const n of [...this.usedNodes].sort()) {
      const node = firstSeen.get(n) ?? this.allNodes.get(n)!;
      this.notes.push(
        `${nodeVar(n)}: plan node ${n}, a ${node.instanceType} labelled ${MIG_CONFIG_LABEL}=${node.migConfig}` +
          `${node.temporary ? ' (temporary)' : ''}: kubectl get nodes -l ${MIG_CONFIG_LABEL}=${node.migConfig}`,
      );
    }
  }

  private stepOperations(step: MigrationStep, counts: ReadonlyMap<string, number>, next: ReadonlyMap<string, number>): StepOperations {
    switch (step.kind) {
      case 'cordon':
      case 'uncordon':
        return { operations: this.cordonOperations(step), waitFor: [] };
      case 'add-nodes':
        return this.addNodeOperations(step);
      case 'start-servers':
      case 'stop-servers':
        return this.serverOperations(step, counts, next);
      case 'shift-traffic':
        return this.routeOperations(step);
      case 'recut':
        return this.recutOperations(step);
      case 'remove-nodes':
        return this.removeNodeOperations(step);
      default:
        return { operations: [], waitFor: [] };
    }
  }

  /** `kubectl cordon` / `uncordon` of each plan node. */
  private cordonOperations(step: MigrationStep): RunbookOperation[] {
    return step.actions.map((a) => {
      const n = (a as { node: string }).node;
      return {
        text: `${step.kind} plan node ${n} (${this.allNodes.get(n)?.migConfig})`,
        command: `kubectl ${step.kind} "${this.nodeRef(n)}"`,
      };
    });
  }

  /** Per layout: new nodes by the path (NodePool, node group, joined by hand); wait for their MIG layout. */
  private addNodeOperations(step: MigrationStep): StepOperations {
    const ops: RunbookOperation[] = [];
    const waits: RunbookOperation[] = [];
    const added = step.actions.filter((a): a is AddNode => a.kind === 'add-node').map((a) => a.node);
    for (const [cfg, list] of groupBy(added, (n) => n.migConfig)) {
      const temp = list.filter((n) => n.temporary).length;
      const label =
        `${list.length} node(s) of ${list[0].instanceType} with layout ${cfg}${temp > 0 ? ` (${temp} temporary)` : ''}: ` +
        list.map((n) => n.name).join(', ');
      if (this.path === 'karpenter') {
        ops.push({
          text:
            `NodePool ${cfg}: apply it from the target rendering (new layout) or raise its limit by ${list.length} node(s); ` +
            `Karpenter launches ${label} once their pods are pending`,
        });
      } else if (this.path === 'node-groups') {
        ops.push({
          text: `node group ${cfg}: create it (new layout) or raise its desired size by ${list.length}, then pulumi up: ${label}`,
          command: 'pulumi up',
        });
      } else {
        ops.push({ text: `join ${label}, each labelled ${MIG_CONFIG_LABEL}=${cfg}` });
      }
      waits.push(migWait(cfg));
    }
    return { operations: ops, waitFor: waits };
  }

  /** Per pool whose replicas the step changes: create, scale or delete it (pods on cordoned nodes marked to go first). */
  private serverOperations(step: MigrationStep, counts: ReadonlyMap<string, number>, next: ReadonlyMap<string, number>): StepOperations {
    const ops: RunbookOperation[] = [];
    const waits: RunbookOperation[] = [];
    const temporaryKeys = new Set<string>();
    for (const a of step.actions) if (a.kind === 'start-server' && a.server.temporary) temporaryKeys.add(this.serverKey.get(a.server.id)!);
    const keys = [...new Set([...counts.keys(), ...next.keys()])].filter((k) => (counts.get(k) ?? 0) !== (next.get(k) ?? 0)).sort();
    for (const k of keys) {
      const from = counts.get(k) ?? 0;
      const to = next.get(k) ?? 0;
      const p = this.poolRef(k, temporaryKeys.has(k) || (!this.tgtPools.has(k) && !this.runPools.has(k)));
      if (step.kind === 'stop-servers' && to > 0) ops.push(...this.deletionCostOperations(step, k, p));
      if (to === 0 && step.kind === 'stop-servers') {
        ops.push({
          text: `delete ${poolText(p)} (its Deployment, Service and autoscaler; it receives no traffic)`,
          ...(p.name ? { command: `kubectl -n ${p.namespace} delete deployment/${p.name}` } : {}),
        });
      } else if (from === 0) {
        ops.push({ text: `create ${poolText(p)} with ${to} replica(s)${p.name ? ' from the target rendering' : ''}` });
        waits.push({
          text: `${poolText(p)}: ${to} replica(s) ready (Triton ready: every model loaded)`,
          ...(p.name ? { command: `kubectl -n ${p.namespace} rollout status deployment/${p.name} --timeout=30m` } : {}),
        });
      } else {
        ops.push({
          text: `scale ${poolText(p)} from ${from} to ${to} replica(s)`,
          ...(p.name ? { command: `kubectl -n ${p.namespace} scale deployment/${p.name} --replicas=${to}` } : {}),
        });
        waits.push({
          text: `${poolText(p)}: ${to} replica(s) ready`,
          ...(p.name ? { command: `kubectl -n ${p.namespace} rollout status deployment/${p.name} --timeout=30m` } : {}),
        });
      }
    }
    return { operations: ops, waitFor: waits };
  }

  /** A pool scaled down but kept: its pods on the nodes the step stops servers on are marked to be deleted first. */
  private deletionCostOperations(step: MigrationStep, key: string, p: PoolRef): RunbookOperation[] {
    const onCordoned = step.actions
      .filter((a) => a.kind === 'stop-server' && this.stopped.get(a.server) === key)
      .map((a) => this.stoppedOn.get((a as { server: string }).server)!);
    const ops: RunbookOperation[] = [];
    for (const n of [...new Set(onCordoned)].sort()) {
      if (p.name)
        ops.push({
          text: `mark the pods of ${poolText(p)} on plan node ${n} to go first`,
          command:
            `kubectl -n ${p.namespace} annotate pod -l ${TRITON_POOL_LABEL}=${p.name} ` +
            `--field-selector spec.nodeName="${this.nodeRef(n)}" controller.kubernetes.io/pod-deletion-cost=-1000 --overwrite`,
        });
    }
    return ops;
  }

  /** Per model: its new route weights per pool (per mille); wait for the HTTPRoutes. */
  private routeOperations(step: MigrationStep): StepOperations {
    const ops: RunbookOperation[] = [];
    for (const a of step.actions) {
      if (a.kind !== 'route') continue;
      if (a.weights.length === 0) {
        ops.push({ text: `remove the route of ${a.model} (no longer in the fleet)` });
        continue;
      }
      const byPool = new Map<string, number>();
      for (const w of a.weights) {
        const k =
          w.server === COLD_ROUTE
            ? 'cold tier (router)'
            : poolText(this.poolRef(this.serverKey.get(w.server)!, this.servers.get(w.server)?.temporary === true));
        byPool.set(k, (byPool.get(k) ?? 0) + w.weight);
      }
      const weights = [...byPool.entries()].sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, w]) => `${k}: ${Math.round(w * 1000)}`);
      ops.push({ text: `route ${a.model}: ${weights.join(', ')}${a.shares ? ' (new time shares on kept servers)' : ''}` });
    }
    const waits = [
      {
        text:
          'each changed HTTPRoute reports Accepted and ResolvedRefs; ' +
          'servers that lost a model see no new requests for it (nv_inference_request_success stops moving)',
      },
    ];
    return { operations: ops, waitFor: waits };
  }

  /** Per node re-cut in place: `relayout.sh`, and wait for its new MIG layout. */
  private recutOperations(step: MigrationStep): StepOperations {
    const ops: RunbookOperation[] = [];
    const waits: RunbookOperation[] = [];
    for (const a of step.actions) {
      if (a.kind !== 'recut') continue;
      if (this.path !== 'in-place')
        this.notes.push(
          `plan node ${a.node} is re-cut in place; ` +
            `on the ${this.path} path a new layout is usually a new ${this.path === 'karpenter' ? 'NodePool' : 'node group'} ` +
            '(re-plan with recut: replace)',
        );
      ops.push({
        text: `re-cut plan node ${a.node} to ${a.migConfig} (cordon, drain, relabel, wait, uncordon)`,
        command: `relayout.sh "${this.nodeRef(a.node)}" ${a.migConfig}`,
      });
      waits.push({ ...migWaitNode(a.node, a.migConfig, this.nodeRef(a.node)) });
    }
    return { operations: ops, waitFor: waits };
  }

  /** Per node removed: by the path (NodePool or node deleted, instance terminated, drained), and wait until it is gone. */
  private removeNodeOperations(step: MigrationStep): StepOperations {
    const ops: RunbookOperation[] = [];
    const waits: RunbookOperation[] = [];
    for (const a of step.actions) {
      if (a.kind !== 'remove-node') continue;
      const n = this.allNodes.get(a.node)!;
      const last = ![...this.nodes.values()].some((x) => x.migConfig === n.migConfig);
      const ref = this.nodeRef(a.node);
      if (this.path === 'karpenter') {
        ops.push(
          last
            ? {
                text:
                  `delete NodePool ${n.migConfig}: no node of that layout remains ` +
                  `(Karpenter drains and terminates plan node ${a.node})`,
                command: `kubectl delete nodepool ${n.migConfig}`,
              }
            : {
                text:
                  `delete plan node ${a.node} (Karpenter's finalizer drains and terminates it)` +
                  (n.temporary ? '; lower the NodePool limit back' : ''),
                command: `kubectl delete node "${ref}"`,
              },
        );
      } else if (this.path === 'node-groups') {
        ops.push({
          text:
            `terminate plan node ${a.node} and lower node group ${n.migConfig}'s desired size` +
            (last ? ' (or delete the group: no node of that layout remains)' : ''),
          command:
            'aws autoscaling terminate-instance-in-auto-scaling-group --should-decrement-desired-capacity ' +
            `--instance-id "$(kubectl get node "${ref}" -o jsonpath='{.spec.providerID}' | sed 's|.*/||')"`,
        });
      } else {
        ops.push({
          text: `drain and release plan node ${a.node}`,
          command: `kubectl drain "${ref}" --ignore-daemonsets --delete-emptydir-data && kubectl delete node "${ref}"`,
        });
      }
      waits.push({ text: `plan node ${a.node} is gone`, command: `kubectl wait --for=delete node/"${ref}" --timeout=30m` });
    }
    return { operations: ops, waitFor: waits };
  }

  /** Servers per pool content key, as the world is now. */
  private replicas(): Map<string, number> {
    const out = new Map<string, number>();
    for (const id of this.servers.keys()) out.set(this.serverKey.get(id)!, (out.get(this.serverKey.get(id)!) ?? 0) + 1);
    return out;
  }

  /** The world moved on by one action. */
  private apply(a: MigrationAction): void {
    switch (a.kind) {
      case 'add-node':
        this.nodes.set(a.node.name, a.node);
        this.allNodes.set(a.node.name, a.node);
        break;
      case 'recut': {
        const n = this.nodes.get(a.node)!;
        this.nodes.set(a.node, { ...n, migConfig: a.migConfig, gpus: a.gpus });
        this.allNodes.set(a.node, this.nodes.get(a.node)!);
        break;
      }
      case 'remove-node':
        this.nodes.delete(a.node);
        break;
      case 'start-server':
        this.servers.set(a.server.id, a.server);
        this.serverKey.set(a.server.id, keyOf(a.server, this.nodes.get(a.server.node)));
        break;
      case 'stop-server':
        this.stopped.set(a.server, this.serverKey.get(a.server)!);
        this.stoppedOn.set(a.server, this.servers.get(a.server)!.node);
        this.servers.delete(a.server);
        break;
      default:
        break;
    }
  }

  /**
   * The pool of a content key. A pool keeps its running name. A new pool takes its target name unless a running pool
   * of other content has it (the renderer numbers pools by position): then the name gets a suffix from the pool's
   * content, since giving a running Deployment other content restarts it.
   */
  private poolRef(key: string, temporary: boolean): PoolRef {
    const had = this.chosen.get(key);
    if (had) return had;
    const r = this.runPools.get(key);
    const t = this.tgtPools.get(key);
    const [cfg, profile, models] = key.split('#');
    const what = `the ${profile} pool of ${models === 'cache' ? 'the cold tier (cache)' : models.split(',').join(', ')} on ${cfg}`;
    let ref: PoolRef;
    if (r) ref = r;
    else if (t && t.name) {
      const clash =
        this.runNames.has(`${t.namespace}/${t.name}`) ||
        [...this.chosen.values()].some((c) => c.name === t.name && c.namespace === t.namespace);
      const name = clash ? contentSuffixedPoolName(t.name, key) : t.name;
      if (clash)
        this.notes.push(
          `the target rendering names ${what} ${t.namespace}/${t.name}, which is a running pool of other content: ` +
            `the runbook creates it as ${t.namespace}/${name} (pool names are numbered by position)`,
        );
      ref = { name, namespace: t.namespace, description: `pool ${name}` };
    } else ref = { description: temporary ? `a temporary pool: ${what}` : what };
    this.chosen.set(key, ref);
    return ref;
  }

  /** `$NODE_<plan name>`, noted as used (the closing notes say how to find it). */
  private nodeRef(name: string): string {
    this.usedNodes.add(name);
    return nodeVar(name);
  }
}

/** A server's pool content key: node configuration, slice profile, model set (or `cache`). */
function keyOf(s: MigrationServer, node: MigrationNode | undefined): string {
  return `${node?.migConfig ?? '?'}#${s.profile}#${
    s.cache
      ? 'cache'
      : s.models
          .map((m) => m.name)
          .sort()
          .join(',')
  }`;
}

function poolText(p: PoolRef): string {
  return p.name ? `${p.namespace}/${p.name}` : p.description;
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): [string, T[]][] {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
}

function migWait(cfg: string): RunbookOperation {
  if (cfg === 'all-disabled')
    return {
      text: 'the new nodes are Ready and advertise nvidia.com/gpu',
      command: 'kubectl wait --for=condition=Ready node -l nvidia.com/gpu.present=true --timeout=20m',
    };
  return {
    text: `every node labelled ${MIG_CONFIG_LABEL}=${cfg} is Ready with ${MIG_CONFIG_LABEL}.state=success`,
    command:
      `kubectl wait node -l ${MIG_CONFIG_LABEL}=${cfg} ` +
      `--for=jsonpath='{.metadata.labels.${escLabel(MIG_CONFIG_LABEL)}\\.state}'=success --timeout=20m`,
  };
}

function migWaitNode(plan: string, cfg: string, ref: string): RunbookOperation {
  return {
    text: `plan node ${plan}: ${MIG_CONFIG_LABEL}=${cfg} and ${MIG_CONFIG_LABEL}.state=success`,
    command: `kubectl wait node/"${ref}" --for=jsonpath='{.metadata.labels.${escLabel(MIG_CONFIG_LABEL)}\\.state}'=success --timeout=20m`,
  };
}

/** The runbook as text: numbered steps, each operation with its command, then what to wait for. */
export function renderRunbookText(runbook: Runbook): string {
  const lines: string[] = [];
  for (const s of runbook.steps) {
    lines.push(`${s.index}. ${s.title}`);
    for (const o of s.operations) {
      lines.push(`   - ${o.text}`);
      if (o.command) lines.push(`       $ ${o.command}`);
    }
    for (const w of s.waitFor) {
      lines.push(`   wait: ${w.text}`);
      if (w.command) lines.push(`       $ ${w.command}`);
    }
  }
  if (runbook.notes.length > 0) {
    lines.push('', 'notes:');
    for (const n of runbook.notes) lines.push(`  - ${n}`);
  }
  return lines.join('\n') + '\n';
}
