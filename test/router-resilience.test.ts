/**
 * The router when backends and the router itself come and go: adoption of READY models at start
 * and after a restart, a backend that disappears (502, marked down, models re-homed), a backend that
 * comes back, and periodic refresh. The router runs as a process where the test kills it or signals it (restart,
 * SIGTERM), in this process elsewhere (startLocalRouter); stand-ins run in this process (startLocalStandin): one that
 * "disappears" closes its port and every connection, which is what the router sees of a process that dies.
 */
import {
  infer,
  killAll,
  LocalRouter,
  LocalStandin,
  Proc,
  request,
  routerState,
  standinStats,
  startLocalRouter,
  startLocalStandin,
  startRouter,
  waitFor,
} from './support/triton-standin-procs';

afterAll(killAll);

const models = ['m1', 'm2', 'm3', 'm4'].map((name) => ({ name, memoryGiB: 1 }));

describe('restart adoption', () => {
  let a: LocalStandin;
  let router: Proc;
  beforeAll(async () => {
    // GIVEN a backend that already holds m1 and m2 READY (and one model the router does not manage)
    a = await startLocalStandin({ memoryGiB: 4, defaultModelGiB: 1, loaded: ['m1', 'm2', 'other'], loadDelayMs: 20 });
  });

  test('adopts models READY on a backend at start instead of loading them again', async () => {
    router = await startRouter({
      listen: '127.0.0.1:0',
      backends: [{ name: 'a', url: a.url, memoryGiB: 4 }],
      models,
      refreshIntervalSeconds: 60,
    });
    await waitFor('router ready', async () => (await request(router.url, 'GET', '/v2/health/ready')).status === 200);
    const state = await routerState(router);
    expect(state.backends[0].models.map((m: any) => [m.name, m.state])).toEqual([
      ['m1', 'ready'],
      ['m2', 'ready'],
    ]);
    expect(state.backends[0].unmanaged).toEqual(['other']);
    expect(state.backends[0].usedGiB).toBe(2);
    expect((await infer(router.url, 'm1')).status).toBe(200);
    expect((await standinStats(a.url)).loads).toBe(0);
    expect((await request(router.url, 'GET', '/metrics')).body).toContain(
      'gpufleet_router_model_adoptions_total{model="m1",backend="a"} 1',
    );
  });

  test('a restarted router finds what the previous one loaded', async () => {
    // GIVEN the first router loaded m3
    expect((await infer(router.url, 'm3')).status).toBe(200);
    expect((await standinStats(a.url)).loads).toBe(1);
    // WHEN it is killed and a new one starts on the same backend
    await router.kill();
    router = await startRouter({
      listen: '127.0.0.1:0',
      backends: [{ name: 'a', url: a.url, memoryGiB: 4 }],
      models,
      refreshIntervalSeconds: 60,
    });
    await waitFor('router ready', async () => (await request(router.url, 'GET', '/v2/health/ready')).status === 200);
    // THEN m3 is served without a new load
    expect((await infer(router.url, 'm3')).status).toBe(200);
    expect((await standinStats(a.url)).loads).toBe(1);
    await router.kill();
  });
});

describe('backend down', () => {
  let a: LocalStandin;
  let b: LocalStandin;
  let router: LocalRouter;
  beforeAll(async () => {
    [a, b] = await Promise.all([
      startLocalStandin({ memoryGiB: 2, defaultModelGiB: 1 }),
      startLocalStandin({ memoryGiB: 2, defaultModelGiB: 1 }),
    ]);
    router = await startLocalRouter({
      listen: '127.0.0.1:0',
      backends: [
        { name: 'a', url: a.url, memoryGiB: 2 },
        { name: 'b', url: b.url, memoryGiB: 2 },
      ],
      models,
      refreshIntervalSeconds: 0.2,
    });
    await waitFor('both backends up', async () => (await routerState(router)).backends.every((x: any) => x.up));
  }, 60000);

  test('re-homes the models of a backend that disappears', async () => {
    // GIVEN m1 loaded on the backend with most room (a, listed first)
    expect((await infer(router.url, 'm1')).status).toBe(200);
    const home = (await routerState(router)).models.find((m: any) => m.name === 'm1').loadedOn;
    expect(home).toHaveLength(1);
    const [gone, other] = home[0] === 'a' ? [a, b] : [b, a];
    // WHEN that backend dies
    await gone.kill();
    // THEN no request fails: the one that finds the dead connection is sent again, m1 is re-homed on the other backend
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await infer(router.url, 'm1', `after-${i}`));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(replies.map((r) => r.json().id)).toEqual(['after-0', 'after-1', 'after-2']);
    expect((await standinStats(other.url)).loaded).toEqual(['m1']);
    const state = await routerState(router);
    expect(state.backends.find((x: any) => x.name === home[0]).up).toBe(false);
    expect((await request(router.url, 'GET', '/metrics')).body).toContain(`gpufleet_router_backend_up{backend="${home[0]}"} 0`);
  });

  test('keeps serving from the remaining backend within its budget', async () => {
    // the surviving backend holds 2 GiB: four models rotate through it
    for (const m of ['m2', 'm3', 'm4', 'm1', 'm2']) expect((await infer(router.url, m)).status).toBe(200);
    const survivor = (await routerState(router)).backends.find((x: any) => x.up);
    expect(survivor.usedGiB).toBeLessThanOrEqual(2);
  });

  test('uses a backend again once it answers its index read', async () => {
    // GIVEN the dead backend restarts on its old port
    const down = (await routerState(router)).backends.find((x: any) => !x.up);
    const port = Number(new URL(down.url).port);
    const again = await startLocalStandin({ port, memoryGiB: 2, defaultModelGiB: 1 });
    // THEN the periodic refresh marks it up, and new loads go there when the other is full
    await waitFor('backend up again', async () => (await routerState(router)).backends.every((x: any) => x.up));
    for (const m of ['m1', 'm2', 'm3', 'm4']) expect((await infer(router.url, m)).status).toBe(200);
    expect((await standinStats(again.url)).loads).toBeGreaterThan(0);
  });
});

describe('backend failure shape', () => {
  test('fails with 503 (no backend up) when the only backend is gone', async () => {
    const a = await startLocalStandin({ memoryGiB: 2, defaultModelGiB: 1 });
    const router = await startLocalRouter({
      listen: '127.0.0.1:0',
      backends: [{ name: 'solo', url: a.url, memoryGiB: 2 }],
      models,
      refreshIntervalSeconds: 60,
    });
    await waitFor('router ready', async () => (await request(router.url, 'GET', '/v2/health/ready')).status === 200);
    expect((await infer(router.url, 'm1')).status).toBe(200);
    await a.kill();
    const r = await infer(router.url, 'm1');
    expect(r.status).toBe(503);
    expect(r.json().error).toBe("model 'm1' is not loaded and no backend able to hold it is up (solo)");
    expect(r.headers['retry-after']).toBe('5');
    // the router stays ready: it answers (and counts) requests while no backend is up, which is what wakes a pool at zero
    expect((await request(router.url, 'GET', '/v2/health/ready')).status).toBe(200);
    expect((await request(router.url, 'GET', '/v2/health/live')).status).toBe(200);
    expect((await request(router.url, 'GET', '/metrics')).body).toContain('gpufleet_router_backend_up{backend="solo"} 0');
  });

  test('fails with 502 and a JSON error when a backend keeps breaking the connection, after one retry', async () => {
    const a = await startLocalStandin({ memoryGiB: 2, defaultModelGiB: 1, loaded: ['m2'], resetInfer: ['m2'] });
    const router = await startLocalRouter({
      listen: '127.0.0.1:0',
      backends: [{ name: 'flaky', url: a.url, memoryGiB: 2 }],
      models,
      refreshIntervalSeconds: 60,
    });
    await waitFor('router ready', async () => (await request(router.url, 'GET', '/v2/health/ready')).status === 200);
    const r = await infer(router.url, 'm2');
    expect(r.status).toBe(502);
    expect(r.json().error).toMatch(/^backend flaky failed: ECONNRESET/);
    // the backend still answers its index: it stays up, and other requests still work
    const state = await routerState(router);
    expect(state.backends[0].up).toBe(true);
    expect((await request(router.url, 'GET', '/metrics')).body).toContain('gpufleet_router_requests_total{model="m2",code="502"} 1');
    expect((await infer(router.url, 'm1')).status).toBe(200);
  });
});

describe('shutdown', () => {
  test('on SIGTERM, finishes requests in flight, then exits 0', async () => {
    const a = await startLocalStandin({ memoryGiB: 2, defaultModelGiB: 1, loaded: ['m1'], inferDelayMsByModel: { m1: 400 } });
    const router = await startRouter({
      listen: '127.0.0.1:0',
      backends: [{ name: 'a', url: a.url, memoryGiB: 2 }],
      models,
      refreshIntervalSeconds: 60,
    });
    await waitFor('router ready', async () => (await request(router.url, 'GET', '/v2/health/ready')).status === 200);
    const pending = infer(router.url, 'm1', 'last');
    await waitFor('request in flight', async () => (await routerState(router)).backends[0].outstanding === 1);
    const exited = router.kill('SIGTERM');
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.json().id).toBe('last');
    expect(await exited).toBe(0);
  });
});
