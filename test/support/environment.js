// jest testEnvironment: jest's node environment, which also counts the CPU time (user + system) each
// test file costs, from the moment its environment is made until it is torn down: its own process and
// the processes it waited for (npm, tsc, node children). test/support/summary-reporter.js prints the
// total at the end of the run, and the files by cost with GPUFLEET_TEST_CPU=1. On a shared machine
// wall-clock time says little; CPU time says what the suite costs a 2-core machine.
//
// It also ends the worker threads a test file started (the planner's HiGHS solver runs in one:
// constructs/planner/lp-solver.ts) when the file is done. Every test file has its own module registry, so
// each file that plans starts its own solver thread; the solver unrefs it, so it never holds a process
// open, but without this the idle threads of all earlier files, with their WebAssembly memory, would stay
// alive until the jest worker process ends.
//
// And it gives each test file an ordinary global object instead of a contextified one, whose every global
// lookup (`Math`, `Map`, ...) is a call into Node's C++: the planner ran about twice as slow under jest as in
// the CLI (ordinaryGlobals below).
'use strict';
const fs = require('fs');
const path = require('path');
const workerThreads = require('worker_threads');
const NodeEnvironment = require('jest-environment-node').TestEnvironment;
const sharedValidator = require('./shared-validator');

// Node's worker_threads module is shared by the files a jest worker process runs (jest does not sandbox
// core modules): wrap its Worker once per process to know the threads alive.
if (!workerThreads.Worker.gpufleetLive) {
  const Original = workerThreads.Worker;
  /** Node's own Worker, whose threads the end-of-file clean-up leaves alone (the shared schema validator). */
  const Untracked = Original;
  const live = new Set();
  class TrackedWorker extends Original {
    constructor(...args) {
      super(...args);
      live.add(this);
      this.once('exit', () => live.delete(this));
    }
  }
  TrackedWorker.gpufleetLive = live;
  TrackedWorker.gpufleetUntracked = Untracked;
  workerThreads.Worker = TrackedWorker;
}

/** CPU seconds of this process and of the children it waited for (children: Linux /proc only). */
function cpuNow() {
  const own = process.cpuUsage();
  let children = 0;
  try {
    // after "(comm)": field 3 is state; utime 14, stime 15, cutime 16, cstime 17, in clock ticks (proc(5))
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    children = (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    // not Linux: children are not counted
  }
  return { own: (own.user + own.system) / 1e6, children };
}

/**
 * Until the returned function is called, `vm.createContext()` (no argument: how jest-environment-node 29 makes a
 * test file's context) makes an ordinary, uncontextified global (`vm.constants.DONT_CONTEXTIFY`, Node >= 20.18 /
 * 22.8).
 *
 * A contextified global has V8 interceptors that every global lookup inside the context calls into: each read of
 * `Math`, `Map`, `JSON`, ... in the code under test costs a call into Node's C++ (about 140 ns here, against a
 * few ns without). In the planner's loops that made code run about twice as slow under jest as in the CLI (a
 * `Math.min` loop of 2e7 calls: 2.8 s in a jest test, 0.03 s in node or with this). Node's vm docs: the
 * uncontextified global is "reference equal to the globalThis value in the new context, can be modified from
 * outside the context, and can be used to access built-ins in the new context directly"; the flag was made for
 * this (nodejs/node#54394, "speed up the global access if they don't need the interceptor behavior";
 * nodejs/node#31658). jest only needs the context to run scripts in and to set globals on, which both kinds give.
 * On a Node without the flag, the context is made as before.
 */
function ordinaryGlobals() {
  const vm = require('vm');
  const create = vm.createContext;
  const plain = vm.constants && vm.constants.DONT_CONTEXTIFY;
  if (plain === undefined) return () => {};
  vm.createContext = (...args) => (args.length === 0 ? create(plain) : create(...args));
  return () => {
    vm.createContext = create;
  };
}

class CountingEnvironment extends NodeEnvironment {
  constructor(config, context) {
    // the test file's global: an ordinary one (ordinaryGlobals says why)
    const restore = ordinaryGlobals();
    try {
      super(config, context);
    } finally {
      restore();
    }
    this.cpuStart = cpuNow();
    this.testPath = context.testPath;
    this.rootDir = config.projectConfig.rootDir;
    this.perTest = Boolean(process.env.GPUFLEET_TEST_CPU);
    this.tests = [];
    // the process's schema-validator thread, shared by the files this process runs (test/support/shared-validator.js)
    const Untracked = workerThreads.Worker.gpufleetUntracked;
    this.global.gpufleetValidateCore = (objects) => sharedValidator.validateCore(Untracked, objects);
  }

  /** With GPUFLEET_TEST_CPU=1, the CPU time of each test (its hooks aside) too. */
  handleTestEvent(event) {
    if (!this.perTest) return;
    if (event.name === 'test_fn_start') this.testStart = cpuNow();
    if ((event.name === 'test_fn_success' || event.name === 'test_fn_failure') && this.testStart) {
      const end = cpuNow();
      const names = [];
      for (let b = event.test; b && b.parent; b = b.parent) names.unshift(b.name);
      this.tests.push({
        name: names.join(' › '),
        cpu: Math.round((end.own + end.children - this.testStart.own - this.testStart.children) * 100) / 100,
      });
      this.testStart = undefined;
    }
  }

  async teardown() {
    // files run one after the other in a jest worker process: the threads alive now are this file's
    await Promise.all([...workerThreads.Worker.gpufleetLive].map((w) => w.terminate()));
    await super.teardown();
    const dir = process.env.GPUFLEET_TEST_NOTES;
    if (!dir || !fs.existsSync(dir)) return;
    const end = cpuNow();
    const round = (s) => Math.round(s * 100) / 100;
    const file = path.relative(this.rootDir, this.testPath).split(path.sep).join('/');
    const note = {
      file,
      kind: 'cpu',
      own: round(end.own - this.cpuStart.own),
      children: round(end.children - this.cpuStart.children),
      ...(this.perTest ? { tests: this.tests } : {}),
    };
    fs.appendFileSync(path.join(dir, `${process.pid}.jsonl`), `${JSON.stringify(note)}\n`);
  }
}

module.exports = CountingEnvironment;
