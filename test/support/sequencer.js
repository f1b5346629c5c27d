// jest testSequencer: jest's own order (failed first, then longest first by the durations it cached
// in earlier runs, else largest file first), except that on a run without cached durations (a clean
// clone, CI) the two files known to take longest start first: the type check of the whole repository
// and the package test. They are small files, so by size they would start last and keep one worker
// busy alone at the end of the run.
'use strict';
const Sequencer = require('@jest/test-sequencer').default;

const LONG_FIRST = [/[\\/]test[\\/]typecheck\.test\.ts$/, /[\\/]test[\\/]package\.test\.ts$/];

class LongestFirstSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const rank = (t) => (t.duration == null ? LONG_FIRST.findIndex((re) => re.test(t.path)) : -1);
    const pinned = sorted.filter((t) => rank(t) >= 0).sort((a, b) => rank(a) - rank(b));
    return [...pinned, ...sorted.filter((t) => rank(t) < 0)];
  }
}

module.exports = LongestFirstSequencer;
