// Validates Kubernetes objects against the schemas of the `kubernetes-models` package
// (and Gateway API objects against `@kubernetes-models/gateway-api`).
//
// Both packages are ESM-only, which jest's CommonJS runtime cannot import, so this runs outside it:
// - as a worker thread (one per jest worker process, test/support/shared-validator.js, so the schemas are
//   imported once per process, not once per call; each kind from its own module, not the version's index of every kind):
//   workerData { port, signal }; each message on `port` is an array of objects, answered on `port` with the
//   results, then `signal[0]` set to 1 and notified;
// - or as a plain script: node test/support/validate-core.mjs < objects.json
// input: a JSON array of Kubernetes objects.
// output: a JSON array with one entry per input object, in input order:
//   { "index": 0, "errors": ["/data/a must be string"] }           validated (errors may be empty)
//   { "index": 1, "skipped": "why the object was not validated" }   not validated (the caller decides what that means)
// The exit code is 0 whenever the input could be read; problems with objects are reported in the output.

import { fileURLToPath } from 'node:url';
import { isMainThread, workerData } from 'node:worker_threads';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** Module to import for an apiVersion (the version's index of every kind), or undefined when neither package covers it. */
function moduleFor(apiVersion) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (!version) return undefined;
  if (group === GATEWAY_GROUP) return `@kubernetes-models/gateway-api/${group}/${version}`;
  if (group === '') return `kubernetes-models/${version}`;
  return `kubernetes-models/${group}/${version}`;
}

/** A kind's name as the packages name their per-kind modules (`<version module>/<Kind>`). */
const KIND_NAME = /^[A-Z][A-Za-z0-9]*$/;

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function describeAjvError(e) {
  const where = e.instancePath === '' ? '(root)' : e.instancePath;
  const extra = e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : '';
  return `${where} ${e.message}${extra}`;
}

/** Schema modules by specifier, imported once per process or thread. */
const modules = new Map();

async function load(spec) {
  if (!modules.has(spec)) {
    try {
      modules.set(spec, { mod: await import(spec) });
    } catch (err) {
      modules.set(spec, { error: String(err && err.message ? err.message : err).split('\n')[0] });
    }
  }
  return modules.get(spec);
}

/**
 * The module that defines `kind`: the kind's own module (`kubernetes-models/apps/v1/Deployment`), which imports only
 * the schemas that kind uses (about a quarter of the time of a version's index, which imports every kind of it); the
 * version's index when there is no such module, so that its import error or its missing kind is what gets reported.
 */
async function kindModule(spec, kind) {
  if (KIND_NAME.test(kind)) {
    const own = await load(`${spec}/${kind}`);
    if (!own.error && typeof own.mod[kind] === 'function') return own;
  }
  return load(spec);
}

/** The result entries (see above) for an array of objects. */
export async function validateAll(objects) {
  if (!Array.isArray(objects)) return [{ index: -1, errors: ['input: expected a JSON array of objects'] }];
  const results = [];
  for (const [index, obj] of objects.entries()) {
    const apiVersion = obj && typeof obj.apiVersion === 'string' ? obj.apiVersion : undefined;
    const kind = obj && typeof obj.kind === 'string' ? obj.kind : undefined;
    if (!apiVersion || !kind) {
      results.push({ index, errors: ['apiVersion and kind: expected strings'] });
      continue;
    }
    const spec = moduleFor(apiVersion);
    if (!spec) {
      results.push({ index, errors: [`apiVersion: "${apiVersion}" is not an apiVersion kubernetes-models knows`] });
      continue;
    }
    const loaded = await kindModule(spec, kind);
    if (loaded.error) {
      if (spec.startsWith('@kubernetes-models/gateway-api')) {
        results.push({ index, skipped: `${spec} did not load (${loaded.error})` });
      } else {
        results.push({ index, errors: [`apiVersion: "${apiVersion}" has no schemas in kubernetes-models (${loaded.error})`] });
      }
      continue;
    }
    const Model = loaded.mod[kind];
    if (typeof Model !== 'function') {
      results.push({ index, errors: [`kind: "${kind}" is not a kind of ${apiVersion} in ${spec}`] });
      continue;
    }
    try {
      new Model(obj).validate();
      results.push({ index, errors: [] });
    } catch (err) {
      const details = Array.isArray(err && err.errors)
        ? err.errors.map(describeAjvError)
        : [String(err && err.message ? err.message : err)];
      results.push({ index, errors: details });
    }
  }
  return results;
}

if (!isMainThread && workerData && workerData.port) {
  const { port, signal } = workerData;
  port.on('message', async (objects) => {
    let reply;
    try {
      reply = { results: await validateAll(objects) };
    } catch (err) {
      reply = { error: String(err && err.stack ? err.stack : err) };
    }
    port.postMessage(reply);
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
  });
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  readStdin()
    .then(async (text) => process.stdout.write(JSON.stringify(await validateAll(JSON.parse(text)))))
    .catch((err) => {
      process.stderr.write(String(err && err.stack ? err.stack : err));
      process.exit(2);
    });
}
