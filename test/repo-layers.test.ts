/**
 * The layering of DESIGN.md: imports point down only.
 * catalog → fleet → planner → k8s / cloud / runtime → stacks, examples, bin.
 */
import { readdirSync, readFileSync, statSync } from 'fs';
import { join, relative, resolve, dirname } from 'path';

const root = resolve(__dirname, '..');
const layers = ['catalog', 'fleet', 'planner', 'k8s', 'cloud', 'runtime'] as const;
type Layer = (typeof layers)[number];

/** What each layer may import from inside constructs/. */
const allowed: Record<Layer, Layer[]> = {
  catalog: ['catalog'],
  fleet: ['catalog', 'fleet'],
  planner: ['catalog', 'fleet', 'planner'],
  k8s: ['catalog', 'fleet', 'planner', 'k8s'],
  runtime: ['catalog', 'fleet', 'planner', 'runtime'],
  cloud: ['catalog', 'fleet', 'planner', 'k8s', 'cloud'],
};

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

function layerOf(file: string): Layer | undefined {
  const rel = relative(join(root, 'constructs'), file).split(/[\\/]/);
  return layers.find((l) => l === rel[0]);
}

const sourceFiles = walk(join(root, 'constructs'));

describe('repository layering', () => {
  test('imports inside constructs/ point down only', () => {
    const violations: string[] = [];
    for (const file of sourceFiles) {
      const from = layerOf(file);
      if (!from) continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from\s+|require\(|import\()\s*['"](\.[^'"]+)['"]/g)) {
        const target = resolve(dirname(file), m[1]);
        // imports/ holds the generated CRD classes: any construct layer may use them.
        if (target.startsWith(join(root, 'imports'))) continue;
        if (!target.startsWith(join(root, 'constructs'))) {
          violations.push(`${relative(root, file)} imports ${m[1]}, outside constructs/`);
          continue;
        }
        const to = layerOf(target + '.ts') ?? layerOf(join(target, 'index.ts'));
        if (to && !allowed[from].includes(to)) {
          violations.push(`${relative(root, file)} (${from}) imports ${m[1]} (${to})`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  test('no hand-written source file is over 600 lines', () => {
    const dirs = ['constructs', 'stacks', 'bin', 'examples'].map((d) => join(root, d));
    const big = dirs
      .flatMap((d) => { try { return walk(d); } catch { return []; } })
      .filter((f) => !f.includes('generated'))
      .map((f) => ({ f: relative(root, f), n: readFileSync(f, 'utf8').split('\n').length }))
      .filter((x) => x.n > 600)
      .map((x) => `${x.f}: ${x.n} lines`);
    expect(big).toEqual([]);
  });
});
