/**
 * The layering of DESIGN.md: imports point down only.
 * catalog → fleet → planner → k8s / cloud / runtime → stacks, examples, bin; inside k8s, the sub-folders by concern
 * (common → gpu → serving → teams → platform → check); and no import circles (type-only imports included).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'fs';
import { join, relative, resolve, dirname, sep } from 'path';

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

/** The k8s sub-folders and what each may import inside constructs/k8s (check/, the `gpufleet check` rules, reads all). */
const k8sFolders = ['common', 'gpu', 'serving', 'teams', 'platform', 'check'] as const;
type K8sFolder = (typeof k8sFolders)[number];
const k8sAllowed: Record<K8sFolder, K8sFolder[]> = {
  common: ['common'],
  gpu: ['common', 'gpu'],
  serving: ['common', 'gpu', 'serving'],
  teams: ['common', 'gpu', 'serving', 'teams'],
  platform: ['common', 'gpu', 'serving', 'teams', 'platform'],
  check: ['common', 'gpu', 'serving', 'teams', 'platform', 'check'],
};

/** Relative import specifiers of a file: `import`/`export … from`, `import type`, `require(…)`, `import(…)`. */
function relativeImports(text: string): string[] {
  return [...text.matchAll(/(?:from\s+|require\(|import\()\s*['"](\.[^'"]+)['"]/g)].map((m) => m[1]);
}

/** The .ts file an import specifier resolves to (`x.ts` or `x/index.ts`), or undefined. */
function resolveImport(file: string, spec: string): string | undefined {
  const target = resolve(dirname(file), spec);
  return [target + '.ts', join(target, 'index.ts')].find((c) => existsSync(c));
}

/** Import circles (strongly connected components of more than one file, or a file importing itself), Tarjan. */
function importCircles(files: readonly string[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps = relativeImports(readFileSync(f, 'utf8'))
      .map((s) => resolveImport(f, s))
      .filter((x): x is string => !!x);
    graph.set(f, [...new Set(deps)]);
  }
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(relative(root, w));
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

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

  test('inside constructs/k8s, sub-folders import common → gpu → serving → teams → platform → check only', () => {
    const k8sRoot = join(root, 'constructs', 'k8s');
    const folderOf = (file: string): string | undefined => {
      const rel = relative(k8sRoot, file).split(/[\\/]/);
      return rel.length > 1 ? rel[0] : undefined;
    };
    const violations: string[] = [];
    for (const file of walk(k8sRoot)) {
      const from = folderOf(file);
      if (from === undefined) {
        // Only the barrel lives at the top: every construct file belongs to a sub-folder.
        if (relative(k8sRoot, file) !== 'index.ts')
          violations.push(`${relative(root, file)} is not in a sub-folder (${k8sFolders.join(', ')})`);
        continue;
      }
      if (!(k8sFolders as readonly string[]).includes(from)) {
        violations.push(`${relative(root, file)}: unknown sub-folder ${from}/ (known: ${k8sFolders.join(', ')})`);
        continue;
      }
      for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
        const target = resolveImport(file, spec);
        if (!target || !target.startsWith(k8sRoot + sep)) continue;
        const to = folderOf(target);
        if (to === undefined) violations.push(`${relative(root, file)} (${from}) imports ${spec}, the k8s barrel: import the file`);
        else if (!k8sAllowed[from as K8sFolder].includes(to as K8sFolder))
          violations.push(`${relative(root, file)} (${from}) imports ${spec} (${to})`);
      }
    }
    expect(violations).toEqual([]);
  });

  test('no import circles in constructs/, bin/ and stacks/ (type-only imports included)', () => {
    const files = ['constructs', 'bin', 'stacks']
      .map((d) => join(root, d))
      .filter((d) => existsSync(d))
      .flatMap((d) => walk(d))
      .filter((f) => !f.includes('generated'));
    const circles = importCircles(files);
    for (const c of circles) console.log(`import circle (${c.length} files): ${c.join(' ↔ ')}`);
    expect(circles.map((c) => c.join(' ↔ '))).toEqual([]);
  });

  test('no hand-written source file is over 600 lines', () => {
    const dirs = ['constructs', 'stacks', 'bin', 'examples'].map((d) => join(root, d));
    const big = dirs
      .flatMap((d) => {
        try {
          return walk(d);
        } catch {
          return [];
        }
      })
      .filter((f) => !f.includes('generated'))
      .map((f) => ({ f: relative(root, f), n: readFileSync(f, 'utf8').split('\n').length }))
      .filter((x) => x.n > 600)
      .map((x) => `${x.f}: ${x.n} lines`);
    expect(big).toEqual([]);
  });
});

describe('public names', () => {
  test('no two exported classes differ by one letter (a reader cannot tell ModelRoutes from ModelRouter)', () => {
    const names = [
      ...new Set(sourceFiles.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/^export (?:abstract )?class (\w+)/gm)].map((m) => m[1]))),
    ].sort();
    expect(names.length).toBeGreaterThan(30);
    expect(names).toEqual(expect.arrayContaining(['ModelRouter', 'ModelRouteTable', 'ServingPlatform']));
    const close = names.flatMap((a, i) =>
      names
        .slice(i + 1)
        .filter((b) => withinOneEdit(a.toLowerCase(), b.toLowerCase()))
        .map((b) => `${a} / ${b}`),
    );
    expect(close).toEqual([]);
    // the check itself: the pair the issue named is caught
    expect(withinOneEdit('modelroutes', 'modelrouter')).toBe(true);
    expect(withinOneEdit('gpunodepool', 'gpunodegroup')).toBe(false);
  });
});

/** Whether one substitution, insertion or deletion turns `a` into `b`. */
function withinOneEdit(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  let j = 0;
  while (j < a.length - i && j < b.length - i && a[a.length - 1 - j] === b[b.length - 1 - j]) j++;
  return a.length - i - j <= 1 && b.length - i - j <= 1;
}
