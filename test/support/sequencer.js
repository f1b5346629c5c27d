// jest testSequencer: jest's own order (failed first, then longest first by the durations it cached
// in earlier runs, else largest file first), except that on a run without cached durations (a clean
// clone, CI) the files known to cost most start first, in this order: the type check of the whole
// repository, the package test, then smaller files that run processes, plan or run the Pulumi program
// for seconds (in the order of their durations on a clean clone). By size they would start last and
// keep one worker busy alone at the end of the run. (Large expensive files, such as cloud-stack, start
// early by size anyway.)
'use strict';
const Sequencer = require('@jest/test-sequencer').default;

const LONG_FIRST = [
  'static-checks',
  'package',
  'cli-process',
  'router-load',
  'cli-rebalance',
  'walkthrough',
  'cloud-stack-platform-file',
  'cli-synth',
  'planner-replan',
  'router-triton',
].map((name) => new RegExp(`[\\\\/]test[\\\\/]${name}\\.test\\.ts$`));

class LongestFirstSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const rank = (t) => (t.duration == null ? LONG_FIRST.findIndex((re) => re.test(t.path)) : -1);
    const pinned = sorted.filter((t) => rank(t) >= 0).sort((a, b) => rank(a) - rank(b));
    return [...pinned, ...sorted.filter((t) => rank(t) < 0)];
  }
}

module.exports = LongestFirstSequencer;
