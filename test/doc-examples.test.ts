/**
 * The ```ts examples in the doc comments of constructs/ compile: each is type-checked (TypeScript compiler API, no
 * emit) against the layer's exports, with the names an example takes from its context declared (`chart`, `layout`,
 * `vision`, ...). An example that drifts from the API fails here, naming its file and line.
 */
import { readdirSync, readFileSync, statSync } from 'fs';
import { join, relative, resolve } from 'path';
import * as ts from 'typescript';

const root = resolve(__dirname, '..');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every ```ts block of a doc comment: file, line and code (comment stars removed). */
function examples(): { where: string; code: string }[] {
  const out: { where: string; code: string }[] = [];
  for (const file of walk(join(root, 'constructs'))) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (!/^\s*\*\s*```ts\s*$/.test(line)) return;
      const body: string[] = [];
      for (let j = i + 1; j < lines.length && !/^\s*\*\s*```\s*$/.test(lines[j]); j++) body.push(lines[j].replace(/^\s*\* ?/, ''));
      out.push({ where: `${relative(root, file)}:${i + 1}`, code: body.join('\n') });
    });
  }
  return out;
}

/** What the examples take from their context. */
const PRELUDE = `
import { Chart } from 'cdk8s';
import { GpuNodePool, GpuOperator, GPU_OPERATOR_CHART_VERSION, gpuOperatorValues, MigConfig, MigLayout, ModelRepository, ServingPlatform,
  TimeSlicingConfig, type Team } from '../constructs/k8s';
// the Pulumi Kubernetes provider's Helm release, as far as the example uses it (its full types take long to check)
declare const k8s: { helm: { v3: { Release: new (name: string, args: { chart: string; version: string; values: object }) => unknown } } };
declare const chart: Chart;
declare const layout: MigLayout;
declare const vision: Team;
declare const nlp: Team;
declare const mig: MigConfig;
declare const ts: TimeSlicingConfig;
void [GpuNodePool, GpuOperator, GPU_OPERATOR_CHART_VERSION, gpuOperatorValues, MigConfig, MigLayout, ModelRepository, ServingPlatform, TimeSlicingConfig];
`;

describe('doc examples', () => {
  const found = examples();

  test('there are doc examples to check', () => {
    expect(found.length).toBeGreaterThanOrEqual(6);
  });

  test('every ```ts example in constructs/ type-checks', () => {
    // one virtual file per example, beside test/ so that its relative imports resolve
    const files = new Map(found.map((e, i) => [join(root, 'test', `__doc_example_${i}.ts`), `${PRELUDE}\n{\n${e.code}\n}\n`]));
    const options: ts.CompilerOptions = {
      ...ts.parseJsonConfigFileContent(ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, root).options,
      noEmit: true, noUnusedLocals: false, skipLibCheck: true, types: [],
    };
    const host = ts.createCompilerHost(options);
    const read = host.readFile.bind(host);
    const exists = host.fileExists.bind(host);
    host.readFile = (f) => files.get(resolve(f)) ?? read(f);
    host.fileExists = (f) => files.has(resolve(f)) || exists(f);
    const getSource = host.getSourceFile.bind(host);
    host.getSourceFile = (f, v, onError, create) => {
      const text = files.get(resolve(f));
      return text !== undefined ? ts.createSourceFile(f, text, v) : getSource(f, v, onError, create);
    };
    const program = ts.createProgram([...files.keys()], options, host);
    const names = [...files.keys()];
    const problems = ts.getPreEmitDiagnostics(program)
      .filter((d) => d.file && files.has(resolve(d.file.fileName)))
      .map((d) => `${found[names.indexOf(resolve(d.file!.fileName))].where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(problems).toEqual([]);
  });
});
