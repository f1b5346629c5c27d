/**
 * The router against Triton stand-ins that behave as Triton r25.08 does (test/support/triton-standin*.ts):
 * evictions wait for the victim's memory, loads are capped per backend or sent over gRPC, a failed load or a slow
 * index does not take a backend out of service, concurrent requests for a cold model share one load.
 * Router and stand-ins run in this process (startLocalRouter, startLocalStandin: what is tested is what the router
 * does, not its process), except the stand-ins a test freezes (SIGSTOP); delays and timeouts are a few hundred
 * milliseconds, each longer than what it must outlast.
 */
import {
  infer,
  inferBody,
  killAll,
  request,
  routerState,
  standinControl,
  standinStats,
  startLocalRouter,
  startLocalStandin,
  startStandin,
  waitFor,
} from './support/triton-standin-procs';

afterAll(killAll);

const ready = (router: { url: string }): Promise<void> =>
  waitFor('router ready', async () => (await request(router.url, 'GET', '/v2/health/ready')).status === 200);
const metrics = async (router: { url: string }): Promise<string> => (await request(router.url, 'GET', '/metrics')).body;

describe('evictions wait until the backend reports the victim unloaded', () => {
  test('the load is sent only once the evicted model is UNAVAILABLE/unloaded, never into memory not yet free', async () => {
    // GIVEN a 2 GiB backend holding a and b; destroying a takes 250 ms after its unload answer
    const s = await startLocalStandin({ memoryGiB: 2, defaultModelGiB: 1, loaded: ['a', 'b'], unloadDelayMsByModel: { a: 250 } });
    const router = await startLocalRouter({
      listen: '127.0.0.1:0',
      backends: [{ name: 't', url: s.url, memoryGiB: 2 }],
      models: ['a', 'b', 'c'].map((name) => ({ name, memoryGiB: 1 })),
      refreshIntervalSeconds: 60,
    });
    await ready(router);
    expect((await infer(router.url, 'b')).status).toBe(200); // a is the least recently used
    // WHEN c needs room
    const t0 = Date.now();
    const r = await infer(router.url, 'c', 'c1');
    // THEN a was evicted, c loaded after a's memory was free, and the request was served
    expect(r.status).toBe(200);
    expect(r.json().id).toBe('c1');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    const st = await standinStats(s.url);
    expect(st.loaded).toEqual(['b', 'c']);
    expect(st).toMatchObject({ unloads: 1, oomLoads: 0, loadsIntoUnfreedMemory: 0, failedLoads: 0 });
  });

  test('fails with 503 and Retry-After while the victim is not reported unloaded within unloadWaitSeconds, loads once it is', async () => {
    // destroying stuck lasts until released below (control holdUnloads), long after unloadWaitSeconds
    const s = await startLocalStandin({ memoryGiB: 1, defaultModelGiB: 1, loaded: ['stuck'] });
    s.standin.control({ holdUnloads: ['stuck'] });
    const router = await startLocalRouter({
      listen: '127.0.0.1:0',
      backends: [{ name: 't', url: s.url, memoryGiB: 1 }],
      models: ['stuck', 'next'].map((name) => ({ name, memoryGiB: 1 })),
      refreshIntervalSeconds: 60,
      unloadWaitSeconds: 0.2,
    });
    await ready(router);
    const r = await infer(router.url, 'next');
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('5');
    expect(r.json().error).toBe(
      "model 'next' waits for GPU memory on backend t: evicted model(s) stuck not reported unloaded (repository index) within 0.2s; " +
        'retry later',
    );
    expect((await standinStats(s.url)).loadRequests).toBe(0);
    // once the stand-in destroyed it, the next request loads
    s.standin.control({ holdUnloads: [] });
    await waitFor('stuck destroyed', async () => (await standinStats(s.url)).usedGiB === 0, 5000);
    expect((await infer(router.url, 'next')).status).toBe(200);
    expect(await standinStats(s.url)).toMatchObject({ loadsIntoUnfreedMemory: 0, oomLoads: 0 });
  });
});

describe('loads per backend', () => {
  test('50 concurrent requests for one cold model trigger one load', async () => {
    const s = await startLocalStandin({ memoryGiB: 4, defaultModelGiB: 1, loadDelayMs: 200 });
    const router = await startLocalRouter({
      listen: '127.0.0.1:0',
      backends: [{ name: 't', url: s.url, memoryGiB: 4 }],
      models: [{ name: 'cold', memoryGiB: 1 }],
      maxQueuePerModel: 64,
      refreshIntervalSeconds: 60,
    });
    await ready(router);
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => infer(router.url, 'cold', `r${i}`)));
    expect(replies.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(new Set(replies.map((r) => r.json().id)).size).toBe(50);
    const st = await standinStats(s.url);
    expect(st.loadRequestsByModel).toEqual({ cold: 1 });
    expect(await metrics(router)).toContain('gpufleet_router_model_loads_total{model="cold",backend="t",result="success"} 1');
  });

  test('over HTTP, at most maxLoadsPerBackend loads run on a backend at once (each holds a Triton HTTP worker)', async () => {
    const models = ['m1', 'm2', 'm3', 'm4', 'm5'];
    const s = await startLocalStandin({ memoryGiB: 8, defaultModelGiB: 1 });
    const router = await startLocalRouter({
      listen: '127.0.0.1:0',
      backends: [{ name: 't', url: s.url, memoryGiB: 8 }],
      models: models.map((name) => ({ name, memoryGiB: 1 })),
      maxLoadsPerBackend: 2,
      refreshIntervalSeconds: 60,
    });
    await ready(router);
    // every load lasts until released (control holdLoads): the loads the router sends meanwhile all run at once
    s.standin.control({ holdLoads: models });
    const replies = Promise.all(models.map((m) => infer(router.url, m)));
    await waitFor('two loads sent', async () => (await standinStats(s.url)).loadRequests === 2);
    await new Promise((r) => setTimeout(r, 100)); // time to send a third, which it must not
    expect((await standinStats(s.url)).loadRequests).toBe(2);
    s.standin.control({ holdLoads: [] });
    expect((await replies).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const st = await standinStats(s.url);
    expect(st.loads).toBe(5);
    expect(st.maxConcurrentLoads).toBe(2);
    expect(st.paths['POST /v2/repository/models/m1/load']).toBe(1);
  });

  test('with a gRPC port, loads go over gRPC RepositoryModelLoad, no HTTP worker stalls: hits stay fast during a long load', async () => {
    const s = await startLocalStandin({
      memoryGiB: 4,
      defaultModelGiB: 1,
      loaded: ['hot'],
      httpThreads: 1,
      grpcPort: 0,
    });
    // slow's load lasts until released below (control holdLoads): as long as the hits take, however loaded the machine
    s.standin.control({ holdLoads: ['slow'] });
    const router = await startLocalRouter({
      listen: '127.0.0.1:0',
      backends: [{ name: 't', url: s.url, memoryGiB: 4, grpcPort: s.grpcPort }],
      models: ['hot', 'slow'].map((name) => ({ name, memoryGiB: 1 })),
      refreshIntervalSeconds: 60,
    });
    await ready(router);
    let loaded = false;
    const loading = infer(router.url, 'slow').then((r) => {
      loaded = true;
      return r;
    });
    await waitFor('load sent', async () => (await standinStats(s.url)).loadRequests === 1);
    // with one HTTP worker, a load over HTTP would hold every HTTP connection until it ends (here: until released)
    for (let i = 0; i < 5; i++) {
      expect((await request(router.url, 'POST', '/v2/models/hot/infer', inferBody(), { timeoutMs: 5000 })).status).toBe(200);
    }
    expect(loaded).toBe(false);
    s.standin.control({ holdLoads: [] });
    expect((await loading).status).toBe(200);
    const st = await standinStats(s.url);
    expect(st.grpcCalls).toBe(1);
    expect(Object.keys(st.paths).filter((p) => p.includes('/load'))).toEqual([]);
    expect((await routerState(router)).backends[0].loadsOver).toBe('grpc');
  });

  test("a load that Triton refuses over gRPC is a 503 with Triton's message", async () => {
    const s = await startLocalStandin({ memoryGiB: 4, defaultModelGiB: 1, failLoads: ['broken'], grpcPort: 0 });
    const router = await startLocalRouter({
      listen: '127.0.0.1:0',
      backends: [{ name: 't', url: s.url, memoryGiB: 4, grpcPort: s.grpcPort }],
      models: [{ name: 'broken', memoryGiB: 1 }],
      refreshIntervalSeconds: 60,
    });
    await ready(router);
    const r = await infer(router.url, 'broken');
    expect(r.status).toBe(503);
    expect(r.json().error).toMatch(
      new RegExp(
        /^backend t failed to load model 'broken': load failed for model 'broken': version 1 is at UNAVAILABLE state: /.source +
          /.*protobuf parsing failed$/.source,
      ),
    );
  });
});

describe('a backend stays in service', () => {
  test("after a failed load (Triton's strict readiness would answer 400 from then on)", async () => {
    const s = await startLocalStandin({ memoryGiB: 4, defaultModelGiB: 1, failLoads: ['broken'] });
    const router = await startLocalRouter({
      listen: '127.0.0.1:0',
      backends: [{ name: 't', url: s.url, memoryGiB: 4 }],
      models: ['broken', 'good'].map((name) => ({ name, memoryGiB: 1 })),
      refreshIntervalSeconds: 0.1,
    });
    await ready(router);
    expect((await infer(router.url, 'broken')).status).toBe(503);
    // the stand-in, like Triton with --strict-readiness=true, is not ready any more; live it is
    expect((await request(s.url, 'GET', '/v2/health/ready')).status).toBe(400);
    expect((await request(s.url, 'GET', '/v2/health/live')).status).toBe(200);
    // several refreshes later the router still uses it
    await new Promise((r) => setTimeout(r, 300));
    expect((await infer(router.url, 'good')).status).toBe(200);
    const state = await routerState(router);
    expect(state.backends[0]).toMatchObject({ up: true, indexed: true });
    expect(await metrics(router)).toContain('gpufleet_router_backend_up{backend="t"} 1');
  });

  test('while its index times out or fails: it keeps every resident model and serves them without reloading', async () => {
    const s = await startLocalStandin({ memoryGiB: 4, defaultModelGiB: 1 });
    const router = await startLocalRouter({
      listen: '127.0.0.1:0',
      backends: [{ name: 't', url: s.url, memoryGiB: 4 }],
      models: ['m1', 'm2'].map((name) => ({ name, memoryGiB: 1 })),
      refreshIntervalSeconds: 0.1,
      indexTimeoutSeconds: 0.15,
    });
    await ready(router);
    for (const m of ['m1', 'm2']) expect((await infer(router.url, m)).status).toBe(200);
    // WHEN the index read takes longer than indexTimeoutSeconds (a large or remote repository), then fails (S3 hiccup)
    await standinControl(s.url, { indexDelayMs: 500 });
    await waitFor(
      'index timeouts',
      async () => /gpufleet_router_index_errors_total\{backend="t"\} [2-9]/.test(await metrics(router)),
      5000,
    );
    await standinControl(s.url, { indexDelayMs: 0, indexError: 'Could not get MetaData for bucket with name gpufleet-models' });
    await waitFor('index failure seen', async () => (await routerState(router)).backends[0].indexError.includes('Could not get MetaData'));
    // THEN both models are still resident and served, with no new load
    const state = await routerState(router);
    expect(state.backends[0]).toMatchObject({
      up: true,
      models: [
        { name: 'm1', state: 'ready' },
        { name: 'm2', state: 'ready' },
      ],
    });
    for (const m of ['m1', 'm2']) expect((await infer(router.url, m)).status).toBe(200);
    expect((await standinStats(s.url)).loads).toBe(2);
    expect(await metrics(router)).toContain('gpufleet_router_backend_index_ok{backend="t"} 0');
    // AND once the index reads again, all is as before
    await standinControl(s.url, { indexError: null });
    await waitFor('index read again', async () => (await routerState(router)).backends[0].indexError === '');
    expect((await routerState(router)).backends[0].models.map((m: any) => m.name)).toEqual(['m1', 'm2']);
  });

  test('a backend that is not live is down and its models are re-homed', async () => {
    // a holds m from the start (the router finds it in a's index): a is its home, the one process frozen below; b, which
    // takes m over, runs in this process
    const [a, b] = await Promise.all([
      startStandin({ memoryGiB: 2, defaultModelGiB: 1, loaded: ['m'] }),
      startLocalStandin({ memoryGiB: 2, defaultModelGiB: 1 }),
    ]);
    const router = await startLocalRouter({
      listen: '127.0.0.1:0',
      backends: [
        { name: 'a', url: a.url, memoryGiB: 2 },
        { name: 'b', url: b.url, memoryGiB: 2 },
      ],
      models: [{ name: 'm', memoryGiB: 1 }],
      refreshIntervalSeconds: 0.1,
      healthTimeoutSeconds: 0.5,
    });
    await waitFor('both up, m found on a', async () => {
      const st = await routerState(router);
      return st.backends.every((x: any) => x.up) && st.models[0].loadedOn.join() === 'a';
    });
    expect((await infer(router.url, 'm')).status).toBe(200);
    expect((await routerState(router)).models[0].loadedOn).toEqual(['a']);
    expect((await standinStats(b.url)).loads).toBe(0);
    // a frozen process: connections open, nothing answers (what a hung server looks like)
    a.child.kill('SIGSTOP');
    await waitFor('marked down', async () => (await routerState(router)).backends.find((x: any) => x.name === 'a').up === false, 5000);
    expect((await infer(router.url, 'm')).status).toBe(200);
    expect((await routerState(router)).models[0].loadedOn).toEqual(['b']);
    expect((await standinStats(b.url)).loadsByModel).toEqual({ m: 1 });
    a.child.kill('SIGCONT');
  });
});
