// jest globalSetup (once per test run, before any test file):
// - brings lib/ (the compiled package) up to date with the sources, incrementally, so the tests that run
//   the compiled CLI (test/cli-process.test.ts) or pack the package (test/package.test.ts) never see
//   stale code; a build is announced in one line, a fresh lib/ costs a few milliseconds to confirm;
// - makes the folder where tests note what they skipped or left unvalidated (test/support/notes.ts),
//   which test/support/summary-reporter.js prints once at the end and global-teardown.js removes.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ensureBuild } = require('../../scripts/build.js');

module.exports = async function globalSetup() {
  ensureBuild({ allowTypeErrors: true, log: (m) => process.stderr.write(`\n${m}\n`) });
  process.env.GPUFLEET_TEST_NOTES = fs.mkdtempSync(path.join(os.tmpdir(), 'gpufleet-test-notes-'));
};
