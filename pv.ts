import { loadFleetFile } from './constructs/fleet';
import { plan } from './constructs/planner';
import { validatePlanDocument } from './constructs/planner/plan-document';
const f = loadFleetFile(process.argv[2]);
const p = plan(f);
console.log(JSON.stringify(p.summary, null, 1));
console.log(validatePlanDocument(JSON.parse(JSON.stringify(p))).problems);
