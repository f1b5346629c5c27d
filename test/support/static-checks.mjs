// The repository's static checks on one TypeScript program, built once: the type check (tsc --noEmit), the ```ts
// examples of the doc comments in constructs/ (type-checked in the same program), ESLint with typescript-eslint's
// type-aware rules (given that program, so it neither parses nor checks a file again); and, in a process of its own
// started first (test/support/format-check.mjs), prettier's format check with the 140-character line limit on the
// formatted text.
//
// test/static-checks.test.ts runs it in a child process (ESLint and prettier load their configuration and plugins with
// import(), which jest's module registry does not support) and asserts each part. Run alone, it prints the same JSON:
//   node test/support/static-checks.mjs
import { ESLint } from 'eslint';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** What the steps keep between runs (node_modules/.cache/gpufleet/): unchanged files are not checked again. */
const cache = join(root, 'node_modules', '.cache', 'gpufleet');

function walk(dir) {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Every ```ts block of a doc comment in constructs/: where it starts and its code (comment stars removed). */
function docExamples() {
  const out = [];
  for (const file of walk(join(root, 'constructs')).filter((f) => f.endsWith('.ts'))) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (!/^\s*\*\s*```ts\s*$/.test(line)) return;
      const body = [];
      for (let j = i + 1; j < lines.length && !/^\s*\*\s*```\s*$/.test(lines[j]); j++) body.push(lines[j].replace(/^\s*\* ?/, ''));
      out.push({ where: `${relative(root, file)}:${i + 1}`, code: body.join('\n') });
    });
  }
  return out;
}

/** What the doc examples take from their context. */
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
void [GpuNodePool, GpuOperator, GPU_OPERATOR_CHART_VERSION, gpuOperatorValues, MigConfig, MigLayout, ModelRepository, ServingPlatform,
  TimeSlicingConfig];
`;

/** An example may leave what it builds unused: TypeScript's "declared but never read" family does not apply to it. */
const UNUSED = new Set([6133, 6192, 6196, 6198, 6199, 6205]);

/**
 * The program of tsconfig.json, plus one virtual file per doc example beside test/ (so that its relative imports resolve).
 * Incremental: what the checker learnt is kept in the cache folder, and the next run checks again only the files that
 * changed and those that depend on them (a clean clone checks everything).
 */
function buildProgram(examples) {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    { noEmit: true, incremental: true, tsBuildInfoFile: join(cache, 'static-checks.tsbuildinfo') },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  const virtual = new Map(examples.map((e, i) => [join(root, 'test', `__doc_example_${i}.ts`), `${PRELUDE}\n{\n${e.code}\n}\n`]));
  const host = ts.createIncrementalCompilerHost(config.options);
  const read = host.readFile.bind(host);
  const exists = host.fileExists.bind(host);
  const getSource = host.getSourceFile.bind(host);
  host.readFile = (f) => virtual.get(resolve(f)) ?? read(f);
  host.fileExists = (f) => virtual.has(resolve(f)) || exists(f);
  host.getSourceFile = (f, v, onError, create) => {
    const text = virtual.get(resolve(f));
    if (text === undefined) return getSource(f, v, onError, create);
    const file = ts.createSourceFile(f, text, v);
    file.version = createHash('sha1').update(text).digest('hex'); // what the builder compares with its cache
    return file;
  };
  const builder = ts.createIncrementalProgram({
    rootNames: [...config.fileNames, ...virtual.keys()],
    options: config.options,
    host,
    projectReferences: config.projectReferences,
    configFileParsingDiagnostics: config.errors,
  });
  return { builder, program: builder.getProgram(), host, virtual: [...virtual.keys()] };
}

/** tsc --noEmit's diagnostics (ts.getPreEmitDiagnostics), through the builder so that unchanged files answer from the cache. */
function typeCheck(builder, host, virtual, examples) {
  const all = [
    ...builder.getConfigFileParsingDiagnostics(),
    ...builder.getOptionsDiagnostics(),
    ...builder.getGlobalDiagnostics(),
    ...builder.getSyntacticDiagnostics(),
    ...builder.getSemanticDiagnostics(),
  ];
  builder.emit(); // with noEmit, writes the cache file only
  const ofExample = (d) => (d.file ? virtual.indexOf(resolve(d.file.fileName)) : -1);
  const typecheck = all.filter((d) => ofExample(d) < 0);
  const docExamples = all
    .filter((d) => ofExample(d) >= 0 && !UNUSED.has(d.code))
    .map((d) => `${examples[ofExample(d)].where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  return { typecheck: typecheck.length ? ts.formatDiagnostics(typecheck, host).trimEnd().split('\n') : [], docExamples };
}

async function lint(program) {
  const eslint = new ESLint({
    cwd: root,
    // unchanged files answer from the cache. A type-aware finding in an unchanged file can go stale when a type it uses
    // changes in another file: `npm run lint` and a clean clone lint everything.
    cache: true,
    cacheLocation: join(cache, 'eslint-cache'),
    cacheStrategy: 'content',
    // the program the type check built: typescript-eslint takes each file's AST and types from it
    // (named for the cache's hash of the configuration, which cannot serialize a program)
    overrideConfig: [
      { files: ['**/*.ts'], languageOptions: { parserOptions: { programs: Object.assign([program], { toJSON: () => 'tsconfig.json' }) } } },
    ],
  });
  const results = await eslint.lintFiles(['.']);
  return {
    files: results.length,
    problems: results.flatMap((r) =>
      r.messages.map((m) => `${relative(root, r.filePath)}:${m.line}:${m.column} ${m.ruleId ?? 'eslint'}: ${m.message}`),
    ),
  };
}

/** CPU seconds (user + system) of each step, for the report. */
const cpu = {};
async function step(name, f) {
  const start = process.cpuUsage();
  const result = await f();
  const used = process.cpuUsage(start);
  cpu[name] = Math.round((used.user + used.system) / 1e5) / 10;
  return result;
}

/**
 * test/support/format-check.mjs in a child process, started before the type check and running beside it: prettier on a
 * small heap of its own (in this process, after the TypeScript program and ESLint had grown the heap to 2 GB, the garbage
 * collector doubled its cost). Resolves to its JSON report, whose cpu is the child's own.
 */
function startFormatCheck() {
  const child = spawn(process.execPath, [join(root, 'test', 'support', 'format-check.mjs')], { cwd: root });
  const out = [];
  const err = [];
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => err.push(d));
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => {
      if (code === 0) done(JSON.parse(Buffer.concat(out).toString('utf8')));
      else fail(new Error(`test/support/format-check.mjs failed (exit ${code}):\n${Buffer.concat(err).toString('utf8')}`));
    });
  });
}

const formatting = startFormatCheck();
const examples = docExamples();
mkdirSync(cache, { recursive: true });
const { builder, program, host, virtual } = await step('program', () => buildProgram(examples));
const { typecheck, docExamples: exampleProblems } = await step('typecheck', () => typeCheck(builder, host, virtual, examples));
const linted = await step('lint', () => lint(program));
const { cpu: formatCpu, ...format } = await formatting;
cpu.format = formatCpu;
process.stdout.write(
  JSON.stringify({
    typecheck,
    docExamples: { count: examples.length, problems: exampleProblems },
    lint: linted,
    format,
    cpu,
  }),
);
