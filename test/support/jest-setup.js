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
