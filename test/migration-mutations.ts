/**
 * Hand-broken migrations: each mutation takes a migration the generator wrote and breaks one rule of the
 * invariant the way a careless runbook would (stop a server before its traffic moves, route to a server that is
 * not ready, remove a node that still serves, claim capacity a step does not produce, ...). Undefined when the
 * migration has nothing the mutation applies to.
 */
import type { Fleet } from '../constructs/fleet/types';
import type { Migration, MigrationAction, MigrationStep } from '../constructs/planner';

export interface Mutation {
  readonly name: string;
  apply(m: Migration, fleet: Fleet): Migration | undefined;
}

const clone = (m: Migration): Migration => JSON.parse(JSON.stringify(m)) as Migration;

type Loc = { step: number; action: number; a: MigrationAction };

function find(m: Migration, pred: (a: MigrationAction) => boolean): Loc[] {
  const out: Loc[] = [];
  m.steps.forEach((s, step) =>
    s.actions.forEach((a, action) => {
      if (pred(a)) out.push({ step, action, a });
    }),
  );
  return out;
}

function withSteps(m: Migration, steps: MigrationStep[]): Migration {
  return { ...m, steps: steps.map((s, i) => ({ ...s, index: i + 1 })), summary: { ...m.summary, steps: steps.length } };
}

/** Moves one action into the first step, before its other actions. */
function hoist(m: Migration, loc: Loc): Migration {
  const c = clone(m);
  const steps = c.steps.map((s) => ({ ...s, actions: [...s.actions] }));
  const [a] = steps[loc.step].actions.splice(loc.action, 1);
  steps[0].actions.unshift(a);
  return withSteps(c, steps);
}

export const mutations: readonly Mutation[] = [
  {
    name: 'stop a server before its traffic has moved',
    apply: (m) => {
      const running = new Set(m.serversBefore.map((s) => s.id));
      const routed = new Set(m.routesBefore.flatMap((r) => r.weights.map((w) => w.server)));
      const loc = find(m, (a) => a.kind === 'stop-server' && running.has(a.server) && routed.has(a.server))[0];
      return loc ? hoist(m, loc) : undefined;
    },
  },
  {
    name: 'route traffic to a server before it has started',
    apply: (m) => {
      const running = new Set(m.serversBefore.map((s) => s.id));
      const loc = find(m, (a) => a.kind === 'route' && a.weights.some((w) => w.server !== 'cold' && !running.has(w.server)))[0];
      return loc ? hoist(m, loc) : undefined;
    },
  },
  {
    name: 'leave out a server start',
    apply: (m) => {
      const loc = find(m, (a) => a.kind === 'start-server')[0];
      if (!loc) return undefined;
      const c = clone(m);
      (c.steps[loc.step].actions as MigrationAction[]).splice(loc.action, 1);
      return c;
    },
  },
  {
    name: 'leave out the new nodes',
    apply: (m) => {
      if (find(m, (a) => a.kind === 'add-node').length === 0) return undefined;
      const c = clone(m);
      const steps = c.steps
        .map((s) => ({ ...s, actions: s.actions.filter((a) => a.kind !== 'add-node') }))
        .filter((s) => s.actions.length > 0);
      return withSteps(c, steps);
    },
  },
  {
    name: 'remove a node while it still serves',
    apply: (m) => {
      const nodes = new Set(m.nodesBefore.map((n) => n.name));
      const loc = find(m, (a) => a.kind === 'remove-node' && nodes.has(a.node) && m.serversBefore.some((s) => s.node === a.node))[0];
      return loc ? hoist(m, loc) : undefined;
    },
  },
  {
    name: 're-cut a node while it still serves',
    apply: (m) => {
      const loc = find(m, (a) => a.kind === 'recut' && m.serversBefore.some((s) => s.node === a.node))[0];
      return loc ? hoist(m, loc) : undefined;
    },
  },
  {
    name: 'state more capacity than a step produces',
    apply: (m) => {
      const at = m.steps.findIndex((s) => s.capacity.some((x) => x.after > 0));
      if (at < 0) return undefined;
      const c = clone(m);
      const caps = c.steps[at].capacity as unknown as { after: number }[];
      const i = caps.findIndex((x) => x.after > 0);
      caps[i].after *= 1.1;
      return c;
    },
  },
  {
    name: 'start a new server with half the share the plan gives a model',
    apply: (m) => {
      const loc = find(m, (a) => a.kind === 'start-server' && a.server.models.some((x) => x.share > 0.01))[0];
      if (!loc) return undefined;
      const c = clone(m);
      const a = c.steps[loc.step].actions[loc.action] as Extract<MigrationAction, { kind: 'start-server' }>;
      const models = a.server.models.map((x, i) =>
        i === a.server.models.findIndex((y) => y.share > 0.01) ? { ...x, share: x.share / 2 } : x,
      );
      (c.steps[loc.step].actions as MigrationAction[])[loc.action] = { ...a, server: { ...a.server, models } };
      return c;
    },
  },
  {
    name: 'leave out a route change',
    apply: (m, fleet) => {
      const inFleet = new Set(fleet.models.map((x) => x.name));
      const loc = find(m, (a) => a.kind === 'route' && inFleet.has(a.model))[0];
      if (!loc) return undefined;
      const c = clone(m);
      (c.steps[loc.step].actions as MigrationAction[]).splice(loc.action, 1);
      return c;
    },
  },
  {
    name: 'remove a node that was never cordoned',
    apply: (m) => {
      const loc = find(m, (a) => a.kind === 'remove-node')[0];
      if (!loc) return undefined;
      const node = (loc.a as { node: string }).node;
      const c = clone(m);
      const steps = c.steps
        .map((s) => ({ ...s, actions: s.actions.filter((a) => !(a.kind === 'cordon' && a.node === node)) }))
        .filter((s) => s.actions.length > 0);
      return withSteps(c, steps);
    },
  },
];
