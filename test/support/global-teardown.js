// jest globalTeardown: removes the notes folder of the run (global-setup.js) after the reporters read it.
'use strict';
const fs = require('fs');

module.exports = async function globalTeardown() {
  const dir = process.env.GPUFLEET_TEST_NOTES;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
};
