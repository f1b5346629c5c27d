// Preloaded with `node -r ./bench/peak-rss.js ...` by the benchmarks: reports the process's peak
// resident memory (KiB, getrusage ru_maxrss) and its CPU time (microseconds, user and system, every
// thread of the process) on stderr when it exits.
'use strict';
process.on('exit', () => {
  const cpu = process.cpuUsage();
  require('fs').writeSync(2, `\npeak-rss-kib ${process.resourceUsage().maxRSS}\ncpu-us ${cpu.user} ${cpu.system}\n`);
});
