require('sucrase/register/ts');
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
let t = cpu();
const lap = (what) => { const n = cpu(); console.log(what, (n - t).toFixed(2)); t = n; };
const { plan, warmUpSolver } = require('/work/wt-mid/constructs/planner');
const { loadFleetFile } = require('/work/wt-mid/constructs/fleet');
lap('load planner');
const out = {};
for (const step of process.argv.slice(2)) {
  const [f, eff] = step.split(':');
  const fleet = loadFleetFile('examples/' + f + '.fleet.yaml');
  const o = eff === 'd' ? {} : eff === 'f' ? { effort: 'fast' } : { effort: 'fast', solver: 'none' };
  const p = plan(fleet, o);
  lap(step);
  out[step] = JSON.stringify(p);
}
const ks = Object.keys(out);
for (const k of ks) for (const k2 of ks) if (k < k2 && k.split(':')[0] === k2.split(':')[0]) console.log(k, k2, out[k] === out[k2]);
process.exit(0);
