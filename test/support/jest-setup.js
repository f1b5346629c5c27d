// jest setupFiles: runs in each test file's environment before the file.
//
// @pulumi/pulumi 3.x copies every property of `process` when it loads
// (node_modules/@pulumi/pulumi/automation/interface/index.js: `__importStar(require("process"))`), and
// reading `process.stdin` opens it. In a jest worker, stdin is a pipe from jest, and that open pipe
// keeps the worker alive after its last test: jest then kills it and prints "A worker process has
// failed to exit gracefully". No test reads stdin, so it is unref'd here: open or not, it never keeps
// a worker alive.
'use strict';
if (process.env.JEST_WORKER_ID !== undefined && !process.stdin.isTTY && typeof process.stdin.unref === 'function') {
  process.stdin.unref();
}

// The planner's solver (HiGHS compiled to WebAssembly, constructs/planner/lp-solver.ts) is loaded anew by every
// test file that plans: each file has its own module registry, so its own solver thread. V8 then compiles the
// 3.5 MB module twice, once with its baseline compiler (Liftoff) and again, in the background, with its
// optimising one (TurboFan) — and the second compile cost each such file more CPU than its solves gain from it
// (a plan of examples/payments-and-vision.fleet.yaml in a fresh process: 3.9 s of CPU with both, 1.4 s with
// Liftoff only; test/planner-naming.test.ts: 12.9 s → 11.0 s). The CLI
// does the same for its one-shot processes (`warmUpSolver({ baselineCompiler: true })`). Plans are unchanged:
// every budget the planner gives the solver is a count, never a clock, and WebAssembly arithmetic is the same
// under either compiler. The flag is process-wide; a jest worker process runs test files only.
if (process.env.JEST_WORKER_ID !== undefined) {
  require('v8').setFlagsFromString('--liftoff-only');
}
