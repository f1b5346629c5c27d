// A jest reporter that prints, once at the end of the run, what the run did not check:
// - every skipped test, with the reason its file recorded (test/support/notes.ts: describeIf/testIf);
//   a skipped test without a recorded reason is listed as such;
// - every test that ran on weaker input than it is written for, with the reason (noteReduced);
// - every object validateObjects (test/support/validate.ts) left unvalidated, with the reason,
//   grouped by reason and kind, each distinct object named once with how often it was met.
// - the CPU time the test files cost (test/support/environment.js): the total, and with
//   GPUFLEET_TEST_CPU=1 every file by cost.
// The notes come from the folder GPUFLEET_TEST_NOTES made by test/support/global-setup.js.
'use strict';
const fs = require('fs');
const path = require('path');

const SKIPPED = new Set(['pending', 'skipped', 'todo', 'disabled']);

function readNotes(dir) {
  if (!dir || !fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .sort()
    .flatMap((f) =>
      fs
        .readFileSync(path.join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l)),
    );
}

/** `Map.get`, creating the entry with `make` when absent. */
function entry(map, key, make) {
  if (!map.has(key)) map.set(key, make());
  return map.get(key);
}

/**
 * The CPU time the run's test files cost (test/support/environment.js), in one line; with `perFile`,
 * then every file by cost. Wall-clock time on a shared machine says little: on an idle 2-core machine
 * the run takes about the CPU time of the files over two, plus jest's start.
 */
function cpuLines(cpu, perFile) {
  if (cpu.length === 0) return [];
  const total = (n) => n.own + n.children;
  const sum = cpu.reduce((s, n) => s + total(n), 0);
  const lines = [
    `CPU time of the test files: ${sum.toFixed(1)} s (user + system, with child processes) in ${cpu.length} files` +
      `${perFile ? '' : '; per file: GPUFLEET_TEST_CPU=1'}`,
  ];
  if (perFile) {
    for (const n of [...cpu].sort((a, b) => total(b) - total(a) || a.file.localeCompare(b.file))) {
      lines.push(`  ${total(n).toFixed(2).padStart(7)} s  ${n.file}${n.children > 0 ? ` (children ${n.children.toFixed(2)} s)` : ''}`);
    }
    const tests = cpu
      .flatMap((n) => (n.tests || []).map((t) => ({ ...t, file: n.file })))
      .sort((a, b) => b.cpu - a.cpu)
      .slice(0, 15);
    if (tests.length > 0) {
      lines.push('  the costliest tests (their hooks aside):');
      for (const t of tests) lines.push(`  ${t.cpu.toFixed(2).padStart(7)} s  ${t.file} › ${t.name}`);
    }
  }
  return lines;
}

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.filtered = Boolean(globalConfig.testNamePattern);
  }

  onRunComplete(_contexts, results) {
    const notes = readNotes(process.env.GPUFLEET_TEST_NOTES);
    const lines = [];

    // skipped tests, grouped by reason
    const skipReasons = notes.filter((n) => n.kind === 'skip');
    const byReason = new Map();
    let unexplained = 0;
    for (const file of results.testResults) {
      const rel = path.relative(this.rootDir, file.testFilePath).split(path.sep).join('/');
      for (const t of file.testResults) {
        if (!SKIPPED.has(t.status)) continue;
        const scopes = [...t.ancestorTitles, t.title];
        const note = skipReasons.find((n) => n.file === rel && scopes.includes(n.scope));
        if (!note && this.filtered) continue; // not selected by -t / --testNamePattern
        if (!note) unexplained += 1;
        const reason = note ? note.reason : 'no reason recorded (skip with describeIf/testIf of test/support/notes.ts)';
        entry(byReason, reason, () => []).push(`${rel} › ${scopes.join(' › ')}`);
      }
    }
    const skippedCount = [...byReason.values()].reduce((n, l) => n + l.length, 0);
    if (skippedCount > 0) {
      lines.push(`Skipped tests: ${skippedCount}${unexplained > 0 ? ` (${unexplained} without a reason)` : ''}`);
      for (const [reason, tests] of [...byReason].sort((a, b) => a[0].localeCompare(b[0]))) {
        lines.push(`  ${reason}:`);
        for (const t of tests.sort()) lines.push(`    ${t}`);
      }
    }

    // tests that ran on weaker input than they are written for
    const reduced = notes.filter((n) => n.kind === 'reduced');
    if (reduced.length > 0) {
      lines.push(`Tests run on reduced input: ${reduced.length}`);
      for (const n of [...reduced].sort((a, b) => `${a.file}${a.scope}`.localeCompare(`${b.file}${b.scope}`))) {
        lines.push(`  ${n.file} › ${n.scope}: ${n.reason}`);
      }
    }

    // objects not schema-validated, grouped by reason, then by kind
    const unvalidated = notes.filter((n) => n.kind === 'unvalidated');
    if (unvalidated.length > 0) {
      const reasons = new Map();
      for (const n of unvalidated) {
        // "Kind ns/name (apiVersion)"
        const m = /^(\S+) (\S+) \((.*)\)$/.exec(n.object);
        const kind = m ? `${m[1]} (${m[3]})` : n.object;
        const name = m ? m[2] : '';
        const kinds = entry(reasons, n.reason, () => new Map());
        const names = entry(kinds, kind, () => new Map());
        names.set(name, (names.get(name) || 0) + 1);
      }
      const distinct = [...reasons.values()].reduce((n, kinds) => n + [...kinds.values()].reduce((k, names) => k + names.size, 0), 0);
      const files = new Set(unvalidated.map((n) => n.file)).size;
      lines.push(
        `Objects not schema-validated: ${unvalidated.length} in ${files} test file${files === 1 ? '' : 's'}, ${distinct} distinct ` +
          `(name ×times met):`,
      );
      for (const [reason, kinds] of [...reasons].sort((a, b) => a[0].localeCompare(b[0]))) {
        lines.push(`  ${reason}:`);
        for (const [kind, names] of [...kinds].sort((a, b) => a[0].localeCompare(b[0]))) {
          const list = [...names].sort((a, b) => a[0].localeCompare(b[0])).map(([name, times]) => (times > 1 ? `${name} ×${times}` : name));
          lines.push(`    ${kind}: ${list.join(', ')}`);
        }
      }
    }

    if (lines.length === 0) lines.push('Every test ran and every rendered object was schema-validated.');
    lines.push(
      ...cpuLines(
        notes.filter((n) => n.kind === 'cpu'),
        Boolean(process.env.GPUFLEET_TEST_CPU),
      ),
    );
    process.stderr.write(`\n${lines.join('\n')}\n`);
  }
}

module.exports = SummaryReporter;
