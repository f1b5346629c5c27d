// One schema-validator thread (test/support/validate-core.mjs) per jest worker process, shared by the test files
// it runs, which test/support/environment.js hands to each file as `globalThis.gpufleetValidateCore`
// (test/support/validate.ts uses it; outside that environment, validate.ts calls validateCore below itself, and the
// thread is its module's).
//
// The schemas are ESM modules the thread imports on first use: one thread per file imported them again for each
// of the ~20 files that validate, about 0.3 s of CPU each. The thread is unref'd (it never holds the process
// open) and made with Node's own Worker, so that the environment's end-of-file clean-up, which ends the threads a
// file started, leaves it running.
'use strict';
const path = require('path');
const { MessageChannel, receiveMessageOnPort } = require('worker_threads');

let current;

function start(Worker) {
  const { port1, port2 } = new MessageChannel();
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(path.join(__dirname, 'validate-core.mjs'), { workerData: { port: port2, signal }, transferList: [port2] });
  worker.unref();
  port1.unref();
  const made = { port: port1, signal, worker };
  worker.on('exit', () => {
    if (current === made) current = undefined;
  });
  worker.on('error', () => {
    if (current === made) current = undefined;
  });
  return made;
}

/**
 * validate-core.mjs's results for `objects`, synchronously (the caller blocks until the thread answers).
 * `Worker`: Node's worker_threads Worker, not the environment's tracked one.
 */
function validateCore(Worker, objects) {
  if (!current) current = start(Worker);
  const v = current;
  Atomics.store(v.signal, 0, 0);
  v.port.postMessage(objects);
  if (Atomics.wait(v.signal, 0, 0, 120_000) === 'timed-out') {
    throw new Error('validate-core.mjs: no answer from the validator thread within 120 s');
  }
  const reply = receiveMessageOnPort(v.port);
  const message = reply && reply.message;
  if (!message || !message.results) throw new Error(`validate-core.mjs failed: ${(message && message.error) || 'no reply'}`);
  return message.results;
}

module.exports = { validateCore };
