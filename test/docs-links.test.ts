/**
 * The documentation names only files that exist: every relative link of README.md and docs/*.md resolves (relative
 * to the file that links), every repository path written in backticks (`examples/…`, `constructs/…`, `test/…`, …)
 * exists in the repository, and no document cites DESIGN.md, which is not part of the repository.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const DOCS = [
  'README.md',
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
/** Folders of the repository a backticked path may start with (lib/, dist/, build/ are outputs, not sources). */
const REPO_DIRS = ['bench', 'bin', 'constructs', 'docs', 'examples', 'imports', 'scripts', 'stacks', 'test'];
const ROOT_FILES = [
  'Pulumi.yaml',
  'Pulumi.dev.yaml',
  'cdk8s.yaml',
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'jest.config.js',
  'Dockerfile',
];
/** A path written with a placeholder, a glob or an ellipsis names a family of files, not one. */
const PATTERN = /[<>*{}$…]|\.\.\.|\[/;

/** Removes fenced code blocks' shell prompts? No: code blocks are scanned too, they are documentation as well. */
function problemsOf(doc: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, doc), 'utf8');
  const problems: string[] = [];
  if (/DESIGN\.md/.test(text)) problems.push(`${doc}: cites DESIGN.md, which is not in the repository`);
  for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1];
    if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
    const file = target.split('#')[0];
    if (!fs.existsSync(path.resolve(ROOT, path.dirname(doc), file)))
      problems.push(`${doc}: link (${target}) names a file that does not exist`);
  }
  for (const m of text.matchAll(/`([^`\s]+)`/g)) {
    const p = m[1].replace(/[:,.;)]+$/, '').replace(/^\.\//, '');
    if (PATTERN.test(p)) continue;
    const first = p.split('/')[0];
    const isRepoPath = (REPO_DIRS.includes(first) && p.includes('/') && /\.[a-z]+$|\/$/.test(p)) || ROOT_FILES.includes(p);
    if (!isRepoPath) continue;
    if (!fs.existsSync(path.join(ROOT, p))) problems.push(`${doc}: \`${m[1]}\` names a file that does not exist`);
  }
  return problems;
}

describe('documentation names only what exists', () => {
  test.each(DOCS)('%s', (doc) => {
    expect(problemsOf(doc)).toEqual([]);
  });
});
