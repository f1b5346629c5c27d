/**
 * Schema validation of synthesized Kubernetes objects, for every test of the repository.
 *
 * - Core kinds (core, apps, batch, policy, rbac, networking.k8s.io, ...) are validated with the
 *   `kubernetes-models` package in a worker thread (`validate-core.mjs`; the package is ESM-only, which
 *   jest's runtime cannot import), one per jest worker process (test/support/shared-validator.js), called synchronously.
 * - Gateway API kinds are validated with `@kubernetes-models/gateway-api` in the same script; when that
 *   package does not load they are skipped with a printed note.
 * - Custom resources are validated with ajv against the `openAPIV3Schema` of the matching CRD in
 *   `../shared/crds/` (indexed by group/version/kind). When `../shared` is absent they are skipped with a
 *   printed reason; core kinds still validate.
 * - Any other kind is an error, so nothing escapes validation silently, unless the caller lists it in
 *   `allowUnvalidated`.
 *
 * Every object left unvalidated is named with its reason in the test run's summary (test/support/notes.ts,
 * printed once by test/support/summary-reporter.js), not printed at each call.
 *
 * Usage: `expect(validateObjects(chart.toJson())).toEqual([])`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parseAllDocuments } from 'yaml';
import { recordNotes } from './notes';

/** The repository root (this file is test/support/validate.ts). */
const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Where the reference CRDs live: `../shared/crds` beside the repository. */
export const SHARED_CRDS_DIR = path.resolve(REPO_ROOT, '..', 'shared', 'crds');

/**
 * When one group/version/kind is defined by several CRD files, the file under the first matching directory wins
 * (EKS clusters run the AWS provider's Karpenter CRDs, which add CEL rules to the core ones).
 */
const PREFERRED_CRD_DIRS = ['karpenter-provider-aws'];

export interface ValidateOptions {
  /**
   * `apiVersion/kind` strings (e.g. `example.com/v1/Widget`) that may pass without a schema; each skip is printed.
   * @default - none: every object must validate against a schema
   */
  readonly allowUnvalidated?: readonly string[];
  /**
   * Directory of the CRD files.
   * @default SHARED_CRDS_DIR (`../shared/crds` beside the repository)
   */
  readonly crdsDir?: string;
}

interface CrdEntry {
  readonly file: string;
  readonly schema: object;
  validator?: ValidateFunction;
}

const crdIndexes = new Map<string, Map<string, CrdEntry>>();

function listYamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listYamlFiles(full));
    else if (/\.ya?ml$/.test(entry.name)) out.push(full);
  }
  return out;
}

function preference(file: string, crdsDir: string): number {
  const first = path.relative(crdsDir, file).split(path.sep)[0];
  const i = PREFERRED_CRD_DIRS.indexOf(first);
  return i === -1 ? PREFERRED_CRD_DIRS.length : i;
}

/** Index every CustomResourceDefinition under `crdsDir` by `group/version/kind`. */
export function crdIndex(crdsDir: string = SHARED_CRDS_DIR): Map<string, CrdEntry> {
  const cached = crdIndexes.get(crdsDir);
  if (cached) return cached;
  const index = new Map<string, CrdEntry>();
  for (const file of listYamlFiles(crdsDir)) {
    for (const doc of parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
      const crd = doc.toJS();
      if (crd?.kind !== 'CustomResourceDefinition' || !crd.spec?.names?.kind) continue;
      for (const version of crd.spec.versions ?? []) {
        const schema = version.schema?.openAPIV3Schema;
        if (!schema) continue;
        const key = `${crd.spec.group}/${version.name}/${crd.spec.names.kind}`;
        const existing = index.get(key);
        if (!existing || preference(file, crdsDir) < preference(existing.file, crdsDir)) {
          index.set(key, { file, schema });
        }
      }
    }
  }
  crdIndexes.set(crdsDir, index);
  return index;
}

let ajvInstance: Ajv | undefined;
function ajv(): Ajv {
  if (!ajvInstance) {
    // strict off: CRD schemas carry x-kubernetes-* keywords and Kubernetes-only formats.
    ajvInstance = new Ajv({ strict: false, allErrors: true, logger: false });
    addFormats(ajvInstance);
    for (const f of ['int32', 'int64', 'float', 'double', 'quantity', 'duration']) ajvInstance.addFormat(f, true);
  }
  return ajvInstance;
}

function describe(obj: any): string {
  const ns = obj?.metadata?.namespace ? `${obj.metadata.namespace}/` : '';
  return `${obj?.kind ?? '?'} ${ns}${obj?.metadata?.name ?? '?'} (${obj?.apiVersion ?? '?'})`;
}

function formatAjvError(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(root)' : e.instancePath;
  const p = e.params as any;
  const extra = p?.additionalProperty
    ? ` (${p.additionalProperty})`
    : p?.allowedValues
      ? ` (${(p.allowedValues as unknown[]).join(', ')})`
      : '';
  return `${where} ${e.message}${extra}`;
}

/** Groups whose kinds `kubernetes-models` (or the Gateway API package) carries. */
function isCoreGroup(group: string): boolean {
  return group === '' || !group.includes('.') || group.endsWith('.k8s.io');
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

type CoreResult = { index: number; errors?: string[]; skipped?: string };

/**
 * validate-core.mjs's results, from the schema-validator thread this jest worker process's test files share
 * (test/support/environment.js hands it to each file); outside that environment, from a thread of this module's
 * own, made the same way (test/support/shared-validator.js).
 */
function validateCore(objs: readonly any[]): CoreResult[] {
  if (objs.length === 0) return [];
  const shared = (globalThis as { gpufleetValidateCore?: (objects: readonly any[]) => CoreResult[] }).gpufleetValidateCore;
  if (shared) return shared(objs);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the CommonJS module environment.js uses too
  const own = require('./shared-validator') as { validateCore(W: typeof Worker, objects: readonly any[]): CoreResult[] };
  return own.validateCore(Worker, objs);
}

/** An object that was not validated, and why. */
export interface Unvalidated {
  /** `<Kind> <ns/name> (<apiVersion>)` */
  readonly object: string;
  readonly reason: string;
}

/**
 * Validates Kubernetes objects against their schemas: the problems, one message per problem
 * (`<Kind> <ns/name> (<apiVersion>): <path> <problem>`), and the objects left unvalidated with the reason.
 */
export function validateObjectsReport(
  objs: readonly any[],
  options: ValidateOptions = {},
): { errors: string[]; unvalidated: Unvalidated[] } {
  const crdsDir = options.crdsDir ?? SHARED_CRDS_DIR;
  const allowed = new Set(options.allowUnvalidated ?? []);
  const errors: string[] = [];
  const unvalidated: Unvalidated[] = [];
  const core: { obj: any; at: number }[] = [];
  const haveCrds = fs.existsSync(crdsDir);

  objs.forEach((obj, at) => {
    const apiVersion: string = typeof obj?.apiVersion === 'string' ? obj.apiVersion : '';
    const kind: string = typeof obj?.kind === 'string' ? obj.kind : '';
    if (!apiVersion || !kind) {
      errors.push(`${describe(obj)}: apiVersion and kind: expected strings`);
      return;
    }
    const name = obj?.metadata?.name;
    if (typeof name !== 'string' || !DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
      errors.push(`${describe(obj)}: /metadata/name expected a DNS-1123 subdomain, got ${JSON.stringify(name)}`);
    }
    const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
    if (allowed.has(`${apiVersion}/${kind}`)) {
      unvalidated.push({ object: describe(obj), reason: 'listed in allowUnvalidated by the test' });
      return;
    }
    if (isCoreGroup(group)) {
      core.push({ obj, at });
      return;
    }
    if (!haveCrds) {
      unvalidated.push({ object: describe(obj), reason: `custom resource, and the CRDs to check it against (${crdsDir}) are absent` });
      return;
    }
    const entry = crdIndex(crdsDir).get(`${apiVersion}/${kind}`);
    if (!entry) {
      errors.push(`${describe(obj)}: no CRD for ${apiVersion}/${kind} in ${crdsDir}; unknown kinds are errors`);
      return;
    }
    entry.validator ??= ajv().compile(entry.schema);
    if (!entry.validator(obj)) {
      const messages = new Set((entry.validator.errors ?? []).map(formatAjvError));
      for (const m of messages) errors.push(`${describe(obj)}: ${m}`);
    }
  });

  for (const result of validateCore(core.map((c) => c.obj))) {
    const obj = core[result.index]?.obj;
    if (result.skipped) unvalidated.push({ object: describe(obj), reason: result.skipped });
    for (const e of new Set(result.errors ?? [])) errors.push(`${describe(obj)}: ${e}`);
  }
  return { errors, unvalidated };
}

/**
 * Validates Kubernetes objects (e.g. `chart.toJson()`) against their schemas.
 * Returns one message per problem, `<Kind> <ns/name> (<apiVersion>): <path> <problem>`; empty when all are valid.
 * The objects it could not validate go, with the reason, into the test run's summary.
 */
export function validateObjects(objs: readonly any[], options: ValidateOptions = {}): string[] {
  const { errors, unvalidated } = validateObjectsReport(objs, options);
  recordNotes(
    unvalidated.map((u) => ({ kind: 'unvalidated', ...u })),
    () =>
      `validateObjects skipped ${unvalidated.length} object(s):\n  ` +
      `${unvalidated.map((u) => `${u.object}: not validated, ${u.reason}`).join('\n  ')}`,
  );
  return errors;
}
