// prettier's format check of the repository (.prettierrc.json, outside .gitignore and .prettierignore) and the code lines
// over 140 characters once formatted, printed as JSON. test/support/static-checks.mjs runs it in its own process, started
// first and alongside the type check: prettier then works on a heap of its own (~100 MB) rather than on the 2 GB the
// TypeScript program and ESLint leave behind, whose garbage collection doubled its cost. Run alone:
//   node test/support/format-check.mjs
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The longest line allowed in code, once prettier has formatted it (prettier cannot wrap strings and comments). */
const MAX_LINE = 140;
/** What the check keeps between runs (node_modules/.cache/gpufleet/): an unchanged file is not formatted again. */
const cache = join(root, 'node_modules', '.cache', 'gpufleet');
/**
 * Top-level folders not walked: .git, the dependencies, the build output and coverage, all in .gitignore and
 * .prettierignore (prettier would ignore every file in them: not walking them saves asking it about each one).
 */
const NOT_WALKED = new Set(['.git', 'node_modules', 'lib', 'dist', 'build', 'coverage']);

/** Every file under root, but those of the top-level folders in NOT_WALKED. */
function walk(dir = root) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (dir === root && NOT_WALKED.has(e.name)) return [];
    return e.isDirectory() ? walk(p) : [p];
  });
}

/** The lines the limit applies to: all of a code file, the TypeScript/JavaScript code blocks of a Markdown file. */
function codeLines(file, text) {
  const lines = text.split('\n').map((line, i) => ({ n: i + 1, line }));
  if (['.ts', '.js', '.mjs', '.cjs'].includes(extname(file))) return lines;
  if (extname(file) !== '.md') return [];
  let fence; // the info string of the open fence, undefined outside one
  return lines.filter(({ line }) => {
    const m = /^\s*(?:```|~~~)\s*(\S*)/.exec(line);
    if (m) {
      fence = fence === undefined ? m[1] : undefined;
      return false;
    }
    return fence !== undefined && /^(ts|typescript|js|javascript)$/.test(fence);
  });
}

/**
 * prettier's check of every file it formats (outside .gitignore and .prettierignore), and the code lines over MAX_LINE once
 * formatted. A file whose content, prettier version and options are unchanged answers from the cache.
 */
async function formatCheck() {
  const ignorePath = [join(root, '.gitignore'), join(root, '.prettierignore')];
  const files = walk();
  const cacheFile = join(cache, 'prettier-cache.json');
  const key = JSON.stringify([prettier.version, MAX_LINE, await prettier.resolveConfig(join(root, 'package.json'))]);
  const previous = (() => {
    try {
      const c = JSON.parse(readFileSync(cacheFile, 'utf8'));
      return c.key === key ? c.files : {};
    } catch {
      return {};
    }
  })();
  const next = {};
  const unformatted = [];
  const longLines = [];
  for (const file of files) {
    const info = await prettier.getFileInfo(file, { ignorePath });
    if (info.ignored || !info.inferredParser) continue;
    const rel = relative(root, file);
    const text = readFileSync(file, 'utf8');
    const hash = createHash('sha1').update(text).digest('hex');
    let result = previous[rel]?.hash === hash ? previous[rel] : undefined;
    if (!result) {
      const formatted = await prettier.format(text, { ...(await prettier.resolveConfig(file)), filepath: file });
      result = {
        hash,
        formatted: formatted === text,
        longLines: codeLines(file, formatted)
          .filter(({ line }) => line.length > MAX_LINE)
          .map(({ n, line }) => `${rel}:${n} (${line.length} characters once formatted)`),
      };
    }
    next[rel] = result;
    if (!result.formatted) unformatted.push(rel);
    longLines.push(...result.longLines);
  }
  mkdirSync(cache, { recursive: true });
  writeFileSync(cacheFile, JSON.stringify({ key, files: next }));
  // the Markdown files prettier leaves alone (.prettierignore): their code blocks as written
  for (const file of files.filter((f) => f.endsWith('.md'))) {
    if (next[relative(root, file)]) continue;
    for (const { n, line } of codeLines(file, readFileSync(file, 'utf8'))) {
      if (line.length > MAX_LINE) longLines.push(`${relative(root, file)}:${n} (${line.length} characters, in a code block)`);
    }
  }
  return { files: Object.keys(next).length, unformatted, longLines };
}

const format = await formatCheck();
const used = process.cpuUsage();
process.stdout.write(JSON.stringify({ ...format, cpu: Math.round((used.user + used.system) / 1e5) / 10 }));
