import { Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { ModelRouter } from '../constructs/k8s/serving/model-router';
import { checkRegistrations, deployAddOns } from '../constructs/k8s/platform/platform-builder';
import { BUILT_IN_PARTS, PlatformContext, TeamAddOn } from '../constructs/k8s/teams/team-contract';
import { baseBuilder, llmTeam, visionTeam } from './k8s-platform-fixtures';

/** An add-on that records its deployment and adds a ConfigMap. */
function recorder(id: string, log: string[], dependsOn?: string[]): TeamAddOn {
  return {
    id,
    dependsOn,
    deploy(ctx: PlatformContext) {
      log.push(`${id} after ${ctx.deployed[ctx.deployed.length - 1]}`);
      new k8s.KubeConfigMap(ctx.scope, `AddOn-${id}`, { metadata: { name: id, namespace: ctx.namespace }, data: { id } });
    },
  };
}

function bareContext(): PlatformContext & { deployed: string[] } {
  const chart = Testing.chart();
  return {
    scope: chart,
    platform: undefined as never,
    deployed: [...BUILT_IN_PARTS],
    namespace: 'serving-shared',
    gpuResources: new Map(),
    teams: new Map(),
    get: () => undefined,
    register: () => undefined,
  };
}

describe('team and add-on contract: registration order and duplicates', () => {
  test('add-ons deploy in declared order, after the built-in parts', () => {
    const log: string[] = [];
    const ctx = bareContext();
    deployAddOns(ctx, [
      recorder('cert-manager', log),
      recorder('router', log, ['cert-manager', 'model-repository']),
      recorder('dashboards', log),
    ]);
    expect(log).toEqual(['cert-manager after model-repository', 'router after cert-manager', 'dashboards after router']);
    expect(ctx.deployed).toEqual([...BUILT_IN_PARTS, 'cert-manager', 'router', 'dashboards']);
  });

  test('fails on a missing dependency, naming it and the add-on', () => {
    const log: string[] = [];
    expect(() => deployAddOns(bareContext(), [recorder('router', log, ['cert-manager'])])).toThrow(
      'missing dependency "cert-manager" of add-on "router"; deployed before it: gpu-operator, mig-config, node-pools, model-repository',
    );
    expect(log).toEqual([]);
  });

  test('fails on a dependency declared after its dependent', () => {
    const log: string[] = [];
    expect(() => deployAddOns(bareContext(), [recorder('router', log, ['cert-manager']), recorder('cert-manager', log)])).toThrow(
      'missing dependency "cert-manager" of add-on "router"; "cert-manager" is declared after "router", and add-ons deploy in ' +
        'declared order',
    );
  });

  test('fails on a team registered twice', () => {
    expect(() => checkRegistrations([visionTeam(), llmTeam(), visionTeam()], [])).toThrow('team "vision" is registered more than once');
    expect(() => baseBuilder().teams(visionTeam()).teams(visionTeam())).toThrow('team "vision" is registered more than once');
  });

  test('fails on an add-on registered twice or taking a built-in id', () => {
    const log: string[] = [];
    expect(() => checkRegistrations([], [recorder('router', log), recorder('router', log)])).toThrow(
      'add-on "router" is registered more than once',
    );
    expect(() => checkRegistrations([], [recorder('node-pools', log)])).toThrow(
      'add-on "node-pools" uses the id of a built-in part (gpu-operator, mig-config, node-pools, model-repository)',
    );
    expect(() => checkRegistrations([], [recorder('', log)])).toThrow('addOns: expected every add-on to have a non-empty id, got ""');
  });
});

describe('team and add-on contract: the builder and postDeploy', () => {
  test('the builder deploys add-ons into the platform and runs team setup hooks', () => {
    const log: string[] = [];
    const chart = Testing.chart();
    const team = {
      ...visionTeam(),
      setup(ctx: PlatformContext, ns: { namespaceName: string }) {
        log.push(`setup ${ns.namespaceName} with ${ctx.deployed.join(',')}`);
      },
    };
    const platform = baseBuilder()
      .addOns(recorder('router', log, ['model-repository']))
      .teams(team, llmTeam())
      .build(chart, 'Platform');
    expect(log).toEqual(['router after model-repository', `setup vision with ${[...BUILT_IN_PARTS, 'router'].join(',')}`]);
    const objs = Testing.synth(chart);
    expect(objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'router')).toBeDefined();
    expect(platform.get('model-repository')).toBe(platform.repository);
    expect([...platform.teams.keys()]).toEqual(['llm', 'vision']);
  });

  test('the builder rejects a missing dependency at build', () => {
    const log: string[] = [];
    expect(() =>
      baseBuilder()
        .addOns(recorder('router', log, ['ingress-nginx']))
        .teams(visionTeam())
        .build(Testing.chart(), 'Platform'),
    ).toThrow(/^missing dependency "ingress-nginx" of add-on "router"/);
  });

  test('clone() derives an independent builder', () => {
    const base = baseBuilder().teams(visionTeam());
    const withLlm = base.clone().teams(llmTeam());
    const a = Testing.chart();
    const b = Testing.chart();
    expect([...base.build(a, 'P').teams.keys()]).toEqual(['vision']);
    expect([...withLlm.build(b, 'P').teams.keys()]).toEqual(['llm', 'vision']);
  });

  test('postDeploy runs after teams and pools exist, in declared order: a model router for a pool', () => {
    const log: string[] = [];
    const router: TeamAddOn = {
      id: 'model-router',
      dependsOn: ['model-repository'],
      deploy: () => log.push('deploy router'),
      postDeploy(ctx) {
        log.push(`postDeploy router with pools ${[...ctx.platform.pools.keys()].sort().join(',')}`);
        const pool = ctx.platform.pools.get('vision-1g')!.pool;
        new ModelRouter(ctx.scope, 'Router', {
          namespace: 'vision',
          pools: [pool],
          models: pool.models.map((name) => ({ name, memoryGiB: 1 })),
        });
      },
    };
    const late: TeamAddOn = { id: 'late', deploy: () => log.push('deploy late'), postDeploy: () => log.push('postDeploy late') };
    const chart = Testing.chart();
    const platform = baseBuilder().addOns(router, late).teams(visionTeam()).build(chart, 'Platform');
    expect(log).toEqual(['deploy router', 'deploy late', 'postDeploy router with pools vision-1g,vision-3g', 'postDeploy late']);
    const objs = Testing.synth(chart);
    expect(objs.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name)).toEqual(['vision-1g', 'vision-3g', 'model-router']);
    expect(platform.check()).toEqual([]);
  });
});
