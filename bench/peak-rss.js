// Preloaded with `node -r ./bench/peak-rss.js ...` by the benchmarks: reports the process's peak
// resident memory (KiB, getrusage ru_maxrss) on stderr when it exits.
'use strict';
process.on('exit', () => {
  require('fs').writeSync(2, `\npeak-rss-kib ${process.resourceUsage().maxRSS}\n`);
});
