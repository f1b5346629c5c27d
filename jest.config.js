/** @type {import('jest').Config} */
module.exports = {
  // jest's node environment, counting each file's CPU time for the summary and ending the worker threads
  // (the planner's solver) a file started (test/support/environment.js)
  testEnvironment: '<rootDir>/test/support/environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type checking is `npm run typecheck` (and part of `npm test` via test/static-checks.test.ts); each file is
    // only stripped of its types, with sucrase (test/support/transform.js says why)
    '^.+\\.ts$': '<rootDir>/test/support/transform.js',
  },
  // jest's cache of compiled files, in the checkout (node_modules/.cache, as other tools keep theirs) instead of
  // one folder in the system temp directory shared by every checkout and user
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  moduleFileExtensions: ['ts', 'js', 'json'],
  // two modules @pulumi/pulumi loads at start but uses only to serialise closures (no test does), loaded on
  // first use instead: about a second less for each test file that imports Pulumi (test/support/lazy/lazy.js)
  moduleNameMapper: {
    '^@npmcli/arborist$': '<rootDir>/test/support/lazy/npmcli-arborist.js',
    '(^|/)typescript-shim$': '<rootDir>/test/support/lazy/typescript.js',
    // @pulumi/pulumi's index.js `require("./automation")` (the Automation API, which no test uses): about 0.5 s more
    '^\\./automation$': '<rootDir>/test/support/lazy/pulumi-automation.js',
  },
  testTimeout: 60000,
  // jest's default is one worker per core minus one, which on a 2-core machine means running every
  // file in one process, one after the other; two workers use both cores.
  maxWorkers: 2,
  // the longest files first also on a run without cached durations (a clean clone)
  testSequencer: '<rootDir>/test/support/sequencer.js',
  // builds lib/ when the sources are newer (once per run), and makes the folder for the run's notes
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  // keeps a stdin opened by @pulumi/pulumi from holding a worker open after its last test
  setupFiles: ['<rootDir>/test/support/jest-setup.js'],
  // the summary at the end names every skipped test and every object left unvalidated, with the reason
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
