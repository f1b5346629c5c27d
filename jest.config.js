/** @type {import('jest').Config} */
module.exports = {
  // jest's node environment, counting each file's CPU time for the summary and ending the worker threads
  // (the planner's solver) a file started (test/support/environment.js)
  testEnvironment: '<rootDir>/test/support/environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type checking is `npm run typecheck` (and part of `npm test` via test/static-checks.test.ts);
    // transpiling per file keeps the suite fast on 2-core CI machines.
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json', diagnostics: false }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
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
