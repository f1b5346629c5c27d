/**
 * `gpufleet check DIR [--previous DIR]`: reads the Kubernetes manifests of a rendering (every `.yaml`, `.yml` and
 * `.json` file under DIR, e.g. the `dist/` of `npm run synth`) and prints  the findings of `checkRendering`, one line
 * each, then a summary line. Exit 0 without findings, 1 with findings, 2 on bad input (nothing printed on stdout).
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { InputFileError, quote, readInputFile, YAML_MAX_ALIAS_COUNT } from '../../constructs/fleet';
import { checkRendering, formatFinding, summarizeCheck } from '../../constructs/k8s/check/check-rendering';
import { validatePlanDocument } from '../../constructs/planner/plan-document';
import { CliInputError } from './errors';
import { compareText } from '../../constructs/catalog/text-order';

const MANIFEST = /\.(ya?ml|json)$/i;

function manifestFiles(dir: string, what: string): string[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliInputError(
      `${what} "${dir}": ${code === 'ENOENT' ? 'no such directory' : `cannot read it (${code ?? (e as Error).message})`}`,
    );
  }
  if (!st.isDirectory()) throw new CliInputError(`${what} "${dir}": is a file, expected the directory of a rendering (e.g. dist/)`);
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => compareText(a.name, b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (MANIFEST.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  if (out.length === 0)
    throw new CliInputError(`${what} "${dir}": no .yaml, .yml or .json manifests in it; render one first (npm run synth writes dist/)`);
  return out;
}

/** A gpufleet plan document (`gpufleet plan --out`, `plan.json` of `gpufleet synth`): no `kind`, and valid as a plan. */
function isPlanDocument(v: unknown): boolean {
  return (
    v !== null && typeof v === 'object' && !Array.isArray(v) && !('kind' in v) && 'fleet' in v && validatePlanDocument(v).plan !== undefined
  );
}

/** The Kubernetes objects of every manifest under `dir` (`kind: List` items flattened). */
export function readManifests(dir: string, what: string = 'DIR'): any[] {
  const objects: any[] = [];
  const problems: string[] = [];
  for (const file of manifestFiles(dir, what)) {
    // through the bounded reader, like every input: a FIFO or a device named x.yaml, or a file over 16 MiB, is a problem
    let text: string;
    try {
      text = readInputFile(file, { what: 'manifest' });
    } catch (e) {
      if (e instanceof InputFileError) {
        problems.push(e.problems[0]);
        continue;
      }
      throw e;
    }
    let docs: unknown[];
    if (/\.json$/i.test(file)) {
      try {
        const v = JSON.parse(text);
        // the plan document `gpufleet synth` writes beside the manifests (plan.json) is not a manifest
        if (isPlanDocument(v)) continue;
        docs = Array.isArray(v) ? v : [v];
      } catch (e) {
        problems.push(`${file}: not JSON (${(e as Error).message.slice(0, 200)})`);
        continue;
      }
    } else {
      const parsed = parseAllDocuments(text);
      const bad = parsed.flatMap((d) => d.errors).map((e) => `${file}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`);
      if (bad.length > 0) {
        problems.push(...bad);
        continue;
      }
      try {
        docs = parsed.map((d) => d.toJS({ json: true, maxAliasCount: YAML_MAX_ALIAS_COUNT }));
      } catch {
        // the yaml package refuses alias expansion beyond the limit (a "billion laughs" document)
        problems.push(
          `${file}: YAML aliases: the document expands its aliases more than ${YAML_MAX_ALIAS_COUNT} times; write the values out instead`,
        );
        continue;
      }
    }
    docs.forEach((d, i) => {
      if (d === null || d === undefined) return;
      const o = d as { kind?: unknown; apiVersion?: unknown; items?: unknown };
      if (typeof d !== 'object' || Array.isArray(d) || typeof o.kind !== 'string' || typeof o.apiVersion !== 'string') {
        const got = Array.isArray(d)
          ? 'an array'
          : typeof d === 'object'
            ? `an object with keys ${quote(Object.keys(d).join(', '))}`
            : quote(d);
        problems.push(`${file}: document ${i + 1}: expected a Kubernetes object with apiVersion and kind, got ${got}`);
        return;
      }
      if (o.kind === 'List' && Array.isArray(o.items)) objects.push(...o.items);
      else objects.push(d);
    });
  }
  if (problems.length > 0) throw new CliInputError(problems);
  return objects;
}

/** Runs the check; returns the exit code and the text for stdout. */
export function runCheckOn(dir: string, previous?: string): { code: number; out: string } {
  const objects = readManifests(dir, 'DIR');
  const before = previous === undefined ? undefined : readManifests(previous, '--previous');
  const result = checkRendering(objects, { previous: before });
  const lines = [...result.findings.map(formatFinding), summarizeCheck(result)];
  return { code: result.findings.length > 0 ? 1 : 0, out: `${lines.join('\n')}\n` };
}
