#!/usr/bin/env node
// Builds lib/ (the compiled package: JavaScript + .d.ts) from constructs/, bin/ and imports/ with
// tsconfig.build.json, and tells whether lib/ is older than those sources.
//
//   node scripts/build.js            build when lib/ is missing or stale (incremental tsc), else nothing
//   node scripts/build.js --force    build from scratch
//   node scripts/build.js --check    exit 1 (and say why) when lib/ is missing or stale; build nothing
//
// Used by `npm run build`, by `prepare` (so `npm ci` in a clone and `npm pack` build lib/), by the jest
// global setup (once per test run) and by bin/gpufleet in a checkout, so nobody runs stale code.
//
// lib/ is fresh when lib/.build-stamp.json exists, names the same source files as now, and no source
// file is newer than the stamp (whose time is the start of the build that wrote it). When a source was
// deleted or renamed, its output is removed from lib/ before the (incremental) build, so lib/ never
// keeps the output of a deleted source.
'use strict';
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const LIB = path.join(ROOT, 'lib');
const STAMP_NAME = '.build-stamp.json';
const STAMP = path.join(LIB, STAMP_NAME);
const SOURCE_DIRS = ['constructs', 'bin', 'imports'];
const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json'];

/** The compiled sources (relative paths, sorted) and the build configuration files. */
function sourceFiles(root = ROOT) {
  const out = [];
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(r);
      } else if (e.name.endsWith('.ts')) {
        out.push(r.split(path.sep).join('/'));
      }
    }
  };
  for (const d of SOURCE_DIRS) if (fs.existsSync(path.join(root, d))) walk(d);
  return [...out.sort(), ...CONFIG_FILES];
}

/**
 * Why lib/ must be (re)built, or undefined when it is fresh.
 * @returns {{ reason: string, clean: boolean, removed?: string[] } | undefined} clean: remove lib/ first;
 *   removed: sources deleted since the last build, whose output goes
 */
function staleness(root = ROOT) {
  const stampFile = path.join(root, 'lib', STAMP_NAME);
  let stamp;
  try {
    stamp = { mtimeMs: fs.statSync(stampFile).mtimeMs, ...JSON.parse(fs.readFileSync(stampFile, 'utf8')) };
  } catch {
    return { reason: 'lib/ has not been built', clean: true };
  }
  const files = sourceFiles(root);
  if (JSON.stringify(files) !== JSON.stringify(stamp.files)) {
    const before = new Set(stamp.files || []);
    const now = new Set(files);
    const added = files.filter((f) => !before.has(f));
    const removed = [...before].filter((f) => !now.has(f));
    const list = [...added.map((f) => `+${f}`), ...removed.map((f) => `-${f}`)];
    return {
      reason: `source files added or removed since the last build (${list.slice(0, 3).join(', ')}${list.length > 3 ? ', …' : ''})`,
      clean: false,
      removed,
    };
  }
  for (const f of files) {
    if (fs.statSync(path.join(root, f)).mtimeMs > stamp.mtimeMs) return { reason: `${f} changed since the last build`, clean: false };
  }
  return undefined;
}

/** tsc's exit code when it found type errors but wrote the output anyway (ExitStatus.DiagnosticsPresent_OutputsGenerated). */
const TSC_ERRORS_OUTPUT_WRITTEN = 2;

/**
 * Builds lib/ when it is stale (or always with `force`). Returns what it did; throws with tsc's
 * output when the build fails. `log` receives one line saying why it builds.
 *
 * With `allowTypeErrors` (the jest setup, bin/gpufleet in a checkout), sources with type errors still
 * give a lib/ that runs them, as ts-node's transpile-only mode did: the type errors are reported by
 * `npm run typecheck` and test/static-checks.test.ts. Such a lib/ counts as stale for a build without
 * `allowTypeErrors` (`npm run build`, `prepare`, `npm pack`), which fails, so it is never packed.
 */
function ensureBuild({ force = false, allowTypeErrors = false, log = () => {} } = {}) {
  const reason = () => {
    const why = staleness();
    if (!why && !allowTypeErrors && readStamp().typeErrors) return { reason: 'the last build had type errors', clean: false };
    return why;
  };
  if (!force && !reason()) return { built: false };
  // one build at a time (bin/gpufleet in two terminals, or during a test run): the others wait, then
  // find lib/ fresh
  return withLock(() => {
    const why = force ? { reason: 'a full build was asked for', clean: true } : reason();
    return why ? build(why, allowTypeErrors, log) : { built: false };
  });
}

const LOCK = path.join(ROOT, 'node_modules', '.cache', 'gpufleet', 'lib-build.lock');
const LOCK_STALE_MS = 10 * 60_000;

/** Runs `fn` holding the build lock (a folder: mkdir is atomic); a lock older than 10 minutes is a dead builder's. */
function withLock(fn) {
  fs.mkdirSync(path.dirname(LOCK), { recursive: true });
  const deadline = Date.now() + LOCK_STALE_MS;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let age;
      try {
        age = Date.now() - fs.statSync(LOCK).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      if (age > LOCK_STALE_MS) {
        fs.rmSync(LOCK, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another build of lib/ holds ${LOCK}`, { cause: e });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

function build(why, allowTypeErrors, log) {
  log(`building lib/: ${why.reason}`);
  if (why.clean) fs.rmSync(LIB, { recursive: true, force: true });
  // the output of a deleted source would otherwise stay in lib/ (and in the package)
  for (const f of why.removed || []) {
    if (!f.endsWith('.ts')) continue;
    for (const ext of ['.js', '.d.ts']) fs.rmSync(path.join(LIB, f.replace(/\.ts$/, ext)), { force: true });
  }
  const started = Date.now();
  const files = sourceFiles();
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  // loaded here, when a build runs: bin/gpufleet checks freshness on every command, and child_process costs
  // it about 5 ms to load
  const { spawnSync } = require('child_process');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, encoding: 'utf8' });
  const typeErrors = r.status === TSC_ERRORS_OUTPUT_WRITTEN && allowTypeErrors;
  if (r.status !== 0 && !typeErrors) {
    throw new Error(
      `tsc -p tsconfig.build.json failed (exit ${r.status ?? r.signal}):\n${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}`,
    );
  }
  fs.writeFileSync(STAMP, `${JSON.stringify({ files, ...(typeErrors ? { typeErrors: true } : {}) }, null, 1)}\n`);
  // the stamp carries the time the build started: a source saved during the build counts as newer
  fs.utimesSync(STAMP, new Date(started), new Date(started));
  if (typeErrors) log('built lib/ from sources with type errors (npm run typecheck lists them)');
  return { built: true, reason: why.reason, typeErrors };
}

function readStamp() {
  try {
    return JSON.parse(fs.readFileSync(STAMP, 'utf8'));
  } catch {
    return {};
  }
}

module.exports = { ensureBuild, staleness, sourceFiles, LIB, STAMP_NAME };

if (require.main === module) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--force' && a !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`build.js: unknown argument ${unknown[0]}; usage: node scripts/build.js [--force | --check]\n`);
    process.exit(2);
  }
  if (args.includes('--check')) {
    const why = staleness();
    if (why) {
      process.stderr.write(`lib/ is stale: ${why.reason}; run npm run build\n`);
      process.exit(1);
    }
    process.exit(0);
  }
  try {
    const r = ensureBuild({ force: args.includes('--force'), log: (m) => process.stderr.write(`${m}\n`) });
    if (!r.built) process.stderr.write('lib/ is up to date\n');
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
}
