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
  COLD_ROUTE, type Migration, type MigrationAction, type MigrationNode, type MigrationServer, type MigrationStep, type Plan,
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

interface PoolRef { name?: string; namespace?: string; description: string }

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
  const placed = new Set([...plan.gpus.flatMap((g) => g.slices.flatMap((s) => s.models.map((m) => m.name))), ...(plan.cold?.models ?? []).map((m) => m.name)]);
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
  if (!['karpenter', 'node-groups', 'in-place'].includes(path)) throw new Error(`path: expected "karpenter", "node-groups" or "in-place", got ${JSON.stringify(path)}`);
  const shared = options.sharedNamespace ?? 'serving-shared';
  const before = declare(fleet, running);
  const after = declare(fleet, target);
  const runPools = before ? poolsOf(before, shared) : new Map<string, PoolRef>();
  const tgtPools = after ? poolsOf(after, shared) : new Map<string, PoolRef>();
  const notes: string[] = [];

  // the world as the steps change it: nodes (with their configuration) and servers
  const nodes = new Map<string, MigrationNode>(migration.nodesBefore.map((n) => [n.name, n]));
  const servers = new Map<string, MigrationServer>(migration.serversBefore.map((s) => [s.id, s]));
  const keyOf = (s: MigrationServer, node: MigrationNode | undefined): string =>
    `${node?.migConfig ?? '?'}#${s.profile}#${s.cache ? 'cache' : s.models.map((m) => m.name).sort().join(',')}`;
  const serverKey = new Map<string, string>([...servers.values()].map((s) => [s.id, keyOf(s, nodes.get(s.node))]));
  const replicas = (): Map<string, number> => {
    const out = new Map<string, number>();
    for (const id of servers.keys()) out.set(serverKey.get(id)!, (out.get(serverKey.get(id)!) ?? 0) + 1);
    return out;
  };
  // A pool keeps its running name. A new pool takes its target name unless a running pool of other content has
  // it (the renderer numbers pools by position): then the name gets a suffix from the pool's content, since
  // giving a running Deployment other content restarts it.
  const runNames = new Map([...runPools.values()].map((p) => [`${p.namespace}/${p.name}`, p]));
  const chosen = new Map<string, PoolRef>();
  const refOf = (key: string, temporary: boolean): PoolRef => {
    const had = chosen.get(key);
    if (had) return had;
    const r = runPools.get(key);
    const t = tgtPools.get(key);
    const [cfg, profile, models] = key.split('#');
    const what = `the ${profile} pool of ${models === 'cache' ? 'the cold tier (cache)' : models.split(',').join(', ')} on ${cfg}`;
    let ref: PoolRef;
    if (r) ref = r;
    else if (t && t.name) {
      const clash = runNames.has(`${t.namespace}/${t.name}`) || [...chosen.values()].some((c) => c.name === t.name && c.namespace === t.namespace);
      const name = clash ? contentSuffixedPoolName(t.name, key) : t.name;
      if (clash) notes.push(`the target rendering names ${what} ${t.namespace}/${t.name}, which is a running pool of other content: the runbook creates it as ${t.namespace}/${name} (pool names are numbered by position)`);
      ref = { name, namespace: t.namespace, description: `pool ${name}` };
    } else ref = { description: temporary ? `a temporary pool: ${what}` : what };
    chosen.set(key, ref);
    return ref;
  };
  const poolText = (p: PoolRef): string => (p.name ? `${p.namespace}/${p.name}` : p.description);
  const usedNodes = new Set<string>();
  const nodeRef = (name: string): string => { usedNodes.add(name); return nodeVar(name); };
  const allNodes = new Map<string, MigrationNode>(nodes);

  // stopped server → its pool key and its node
  const stopped = new Map<string, string>();
  const stoppedOn = new Map<string, string>();
  const steps: RunbookStep[] = [];
  for (const step of migration.steps) {
    const ops: RunbookOperation[] = [];
    const waits: RunbookOperation[] = [];
    const counts = replicas();
    const temporaryKeys = new Set<string>();
    for (const a of step.actions) applyWorld(a);
    const next = replicas();
    switch (step.kind) {
      case 'cordon':
      case 'uncordon':
        for (const a of step.actions) {
          const n = (a as { node: string }).node;
          ops.push({ text: `${step.kind} plan node ${n} (${allNodes.get(n)?.migConfig})`, command: `kubectl ${step.kind} "${nodeRef(n)}"` });
        }
        break;
      case 'add-nodes': {
        const added = step.actions.filter((a): a is Extract<MigrationAction, { kind: 'add-node' }> => a.kind === 'add-node').map((a) => a.node);
        for (const [cfg, list] of groupBy(added, (n) => n.migConfig)) {
          const temp = list.filter((n) => n.temporary).length;
          const label = `${list.length} node(s) of ${list[0].instanceType} with layout ${cfg}${temp > 0 ? ` (${temp} temporary)` : ''}: ${list.map((n) => n.name).join(', ')}`;
          if (path === 'karpenter') {
            ops.push({ text: `NodePool ${cfg}: apply it from the target rendering (new layout) or raise its limit by ${list.length} node(s); Karpenter launches ${label} once their pods are pending` });
          } else if (path === 'node-groups') {
            ops.push({ text: `node group ${cfg}: create it (new layout) or raise its desired size by ${list.length}, then pulumi up: ${label}`, command: 'pulumi up' });
          } else {
            ops.push({ text: `join ${label}, each labelled ${MIG_CONFIG_LABEL}=${cfg}` });
          }
          waits.push(migWait(cfg));
        }
        break;
      }
      case 'start-servers':
      case 'stop-servers': {
        for (const a of step.actions) if (a.kind === 'start-server' && a.server.temporary) temporaryKeys.add(serverKey.get(a.server.id)!);
        const keys = [...new Set([...counts.keys(), ...next.keys()])].filter((k) => (counts.get(k) ?? 0) !== (next.get(k) ?? 0)).sort();
        for (const k of keys) {
          const from = counts.get(k) ?? 0;
          const to = next.get(k) ?? 0;
          const p = refOf(k, temporaryKeys.has(k) || (!tgtPools.has(k) && !runPools.has(k)));
          if (step.kind === 'stop-servers' && to > 0) {
            const onCordoned = step.actions.filter((a) => a.kind === 'stop-server' && stopped.get(a.server) === k).map((a) => stoppedOn.get((a as { server: string }).server)!);
            for (const n of [...new Set(onCordoned)].sort()) {
              if (p.name) ops.push({ text: `mark the pods of ${poolText(p)} on plan node ${n} to go first`, command: `kubectl -n ${p.namespace} annotate pod -l ${TRITON_POOL_LABEL}=${p.name} --field-selector spec.nodeName="${nodeRef(n)}" controller.kubernetes.io/pod-deletion-cost=-1000 --overwrite` });
            }
          }
          if (to === 0 && step.kind === 'stop-servers') {
            ops.push({ text: `delete ${poolText(p)} (its Deployment, Service and autoscaler; it receives no traffic)`, ...(p.name ? { command: `kubectl -n ${p.namespace} delete deployment/${p.name}` } : {}) });
          } else if (from === 0) {
            ops.push({ text: `create ${poolText(p)} with ${to} replica(s)${p.name ? ' from the target rendering' : ''}` });
            waits.push({ text: `${poolText(p)}: ${to} replica(s) ready (Triton ready: every model loaded)`, ...(p.name ? { command: `kubectl -n ${p.namespace} rollout status deployment/${p.name} --timeout=30m` } : {}) });
          } else {
            ops.push({ text: `scale ${poolText(p)} from ${from} to ${to} replica(s)`, ...(p.name ? { command: `kubectl -n ${p.namespace} scale deployment/${p.name} --replicas=${to}` } : {}) });
            waits.push({ text: `${poolText(p)}: ${to} replica(s) ready`, ...(p.name ? { command: `kubectl -n ${p.namespace} rollout status deployment/${p.name} --timeout=30m` } : {}) });
          }
        }
        break;
      }
      case 'shift-traffic':
        for (const a of step.actions) {
          if (a.kind !== 'route') continue;
          if (a.weights.length === 0) { ops.push({ text: `remove the route of ${a.model} (no longer in the fleet)` }); continue; }
          const byPool = new Map<string, number>();
          for (const w of a.weights) {
            const k = w.server === COLD_ROUTE ? 'cold tier (router)' : poolText(refOf(serverKey.get(w.server)!, servers.get(w.server)?.temporary === true));
            byPool.set(k, (byPool.get(k) ?? 0) + w.weight);
          }
          const weights = [...byPool.entries()].sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, w]) => `${k}: ${Math.round(w * 1000)}`);
          ops.push({ text: `route ${a.model}: ${weights.join(', ')}${a.shares ? ' (new time shares on kept servers)' : ''}` });
        }
        waits.push({ text: 'each changed HTTPRoute reports Accepted and ResolvedRefs; servers that lost a model see no new requests for it (nv_inference_request_success stops moving)' });
        break;
      case 'recut':
        for (const a of step.actions) {
          if (a.kind !== 'recut') continue;
          if (path !== 'in-place') notes.push(`plan node ${a.node} is re-cut in place; on the ${path} path a new layout is usually a new ${path === 'karpenter' ? 'NodePool' : 'node group'} (re-plan with recut: replace)`);
          ops.push({ text: `re-cut plan node ${a.node} to ${a.migConfig} (cordon, drain, relabel, wait, uncordon)`, command: `relayout.sh "${nodeRef(a.node)}" ${a.migConfig}` });
          waits.push({ ...migWaitNode(a.node, a.migConfig, nodeRef(a.node)) });
        }
        break;
      case 'remove-nodes':
        for (const a of step.actions) {
          if (a.kind !== 'remove-node') continue;
          const n = allNodes.get(a.node)!;
          const last = ![...nodes.values()].some((x) => x.migConfig === n.migConfig);
          if (path === 'karpenter') {
            ops.push(last
              ? { text: `delete NodePool ${n.migConfig}: no node of that layout remains (Karpenter drains and terminates plan node ${a.node})`, command: `kubectl delete nodepool ${n.migConfig}` }
              : { text: `delete plan node ${a.node} (Karpenter's finalizer drains and terminates it)${n.temporary ? '; lower the NodePool limit back' : ''}`, command: `kubectl delete node "${nodeRef(a.node)}"` });
          } else if (path === 'node-groups') {
            ops.push({ text: `terminate plan node ${a.node} and lower node group ${n.migConfig}'s desired size${last ? ' (or delete the group: no node of that layout remains)' : ''}`, command: `aws autoscaling terminate-instance-in-auto-scaling-group --should-decrement-desired-capacity --instance-id "$(kubectl get node "${nodeRef(a.node)}" -o jsonpath='{.spec.providerID}' | sed 's|.*/||')"` });
          } else {
            ops.push({ text: `drain and release plan node ${a.node}`, command: `kubectl drain "${nodeRef(a.node)}" --ignore-daemonsets --delete-emptydir-data && kubectl delete node "${nodeRef(a.node)}"` });
          }
          waits.push({ text: `plan node ${a.node} is gone`, command: `kubectl wait --for=delete node/"${nodeRef(a.node)}" --timeout=30m` });
        }
        break;
    }
    steps.push({ index: step.index, kind: step.kind, title: step.title, operations: ops, waitFor: waits });
  }

  if (!before) notes.push('pool names of the running plan are not known (a model of the running plan has left the fleet): its pools are described by their models');
  for (const [k, r] of runPools) {
    const t = tgtPools.get(k);
    if (t && t.name !== r.name) notes.push(`pool ${r.namespace}/${r.name} keeps running under its name; the target rendering calls it ${t.namespace}/${t.name}`);
  }
  if ([...tgtPools].some(([k, t]) => [...runPools].some(([rk, r]) => rk !== k && r.name === t.name && r.namespace === t.namespace))) {
    notes.push('do not apply the target rendering whole: it gives running pools other content under their names, which restarts them; apply these steps');
  }
  const firstSeen = new Map(migration.nodesBefore.map((n) => [n.name, n]));
  for (const n of [...usedNodes].sort()) {
    const node = firstSeen.get(n) ?? allNodes.get(n)!;
    notes.push(`${nodeVar(n)}: plan node ${n}, a ${node.instanceType} labelled ${MIG_CONFIG_LABEL}=${node.migConfig}${node.temporary ? ' (temporary)' : ''}: kubectl get nodes -l ${MIG_CONFIG_LABEL}=${node.migConfig}`);
  }
  return { path, steps, notes };

  // --- world bookkeeping for pool counts ---
  function applyWorld(a: MigrationAction): void {
    switch (a.kind) {
      case 'add-node': nodes.set(a.node.name, a.node); allNodes.set(a.node.name, a.node); break;
      case 'recut': { const n = nodes.get(a.node)!; nodes.set(a.node, { ...n, migConfig: a.migConfig, gpus: a.gpus }); allNodes.set(a.node, nodes.get(a.node)!); break; }
      case 'remove-node': nodes.delete(a.node); break;
      case 'start-server': servers.set(a.server.id, a.server); serverKey.set(a.server.id, keyOf(a.server, nodes.get(a.server.node))); break;
      case 'stop-server': stopped.set(a.server, serverKey.get(a.server)!); stoppedOn.set(a.server, servers.get(a.server)!.node); servers.delete(a.server); break;
      default: break;
    }
  }
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): [string, T[]][] {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
}

function migWait(cfg: string): RunbookOperation {
  if (cfg === 'all-disabled') return { text: 'the new nodes are Ready and advertise nvidia.com/gpu', command: 'kubectl wait --for=condition=Ready node -l nvidia.com/gpu.present=true --timeout=20m' };
  return {
    text: `every node labelled ${MIG_CONFIG_LABEL}=${cfg} is Ready with ${MIG_CONFIG_LABEL}.state=success`,
    command: `kubectl wait node -l ${MIG_CONFIG_LABEL}=${cfg} --for=jsonpath='{.metadata.labels.${escLabel(MIG_CONFIG_LABEL)}\\.state}'=success --timeout=20m`,
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
