/**
 * The cluster a migration's steps change, as `planMigration` simulates it: nodes (cordoned or not), servers, each
 * model's route weights and its share on each server, GPUs now and at the peak. Each action applies as the cluster
 * would apply it; a model's capacity is its share x the throughput of its entry on each server it is routed to.
 */
import type { Fleet } from '../fleet/types';
import { entryFor } from './placement-entry';
import { COLD_ROUTE, type MigrationAction, type MigrationNode, type MigrationServer, type RouteWeight } from './migration-types';

export class World {
  readonly nodes = new Map<string, { node: MigrationNode; cordoned: boolean }>();
  readonly servers = new Map<string, MigrationServer>();
  readonly routes = new Map<string, RouteWeight[]>();
  readonly shares = new Map<string, Map<string, number>>();
  gpus = 0;
  peak = 0;

  constructor(private readonly fleet: Fleet) {}

  private readonly thrCache = new Map<string, number>();
  thr(model: string, s: MigrationServer): number {
    const k = `${model}|${s.id}`;
    let v = this.thrCache.get(k);
    if (v === undefined) {
      const spec = this.fleet.models.find((m) => m.name === model);
      const sm = s.models.find((m) => m.name === model);
      v = spec && sm ? (entryFor(spec, s.gpuType, s.profile, sm.batch, sm.instances)?.throughput ?? 0) : 0;
      this.thrCache.set(k, v);
    }
    return v;
  }

  caches(): number {
    return [...this.servers.values()].filter((s) => s.cache).length;
  }

  capacity(model: string, coldNeed: number, demand: number): number {
    let c = 0;
    for (const w of this.routes.get(model) ?? []) {
      if (w.server === COLD_ROUTE) {
        c += this.caches() >= coldNeed ? demand : 0;
        continue;
      }
      const s = this.servers.get(w.server);
      if (s) c += (this.shares.get(s.id)?.get(model) ?? 0) * this.thr(model, s);
    }
    return c;
  }

  free(node: string, profile: string): number {
    const n = this.nodes.get(node);
    if (!n) return 0;
    const total = n.node.gpus.reduce((a, d) => a + d.filter((p) => p === profile).length, 0);
    const used = [...this.servers.values()].filter((s) => s.node === node && s.profile === profile).length;
    return total - used;
  }

  apply(a: MigrationAction): void {
    switch (a.kind) {
      case 'add-node':
        this.nodes.set(a.node.name, { node: a.node, cordoned: false });
        this.gpus += a.node.gpus.length;
        break;
      case 'cordon':
        this.nodes.get(a.node)!.cordoned = true;
        break;
      case 'uncordon':
        this.nodes.get(a.node)!.cordoned = false;
        break;
      case 'start-server':
        this.servers.set(a.server.id, a.server);
        this.shares.set(a.server.id, new Map(a.server.models.map((m) => [m.name, m.share])));
        break;
      case 'route':
        if (a.weights.length === 0) this.routes.delete(a.model);
        else this.routes.set(a.model, [...a.weights]);
        for (const x of a.shares ?? []) this.shares.get(x.server)!.set(a.model, x.share);
        break;
      case 'stop-server':
        this.servers.delete(a.server);
        this.shares.delete(a.server);
        break;
      case 'recut': {
        const n = this.nodes.get(a.node)!;
        n.node = { ...n.node, migConfig: a.migConfig, gpus: a.gpus };
        break;
      }
      case 'remove-node':
        this.gpus -= this.nodes.get(a.node)!.node.gpus.length;
        this.nodes.delete(a.node);
        break;
    }
    this.peak = Math.max(this.peak, this.gpus);
  }

  routedTo(server: string): boolean {
    for (const ws of this.routes.values()) if (ws.some((w) => w.server === server)) return true;
    return false;
  }
}
