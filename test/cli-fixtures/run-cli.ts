/**
 * Runs the gpufleet CLI for the cli-* tests, two ways:
 * - `runCli`: in this process, `main(argv)` of bin/lib/main.ts with its stdout and stderr captured: the
 *   same dispatch, commands, error mapping and exit codes as the command, in milliseconds per call;
 * - `runCliProcess`: the real command, `node bin/gpufleet ...`, which runs the compiled JavaScript in lib/
 *   (brought up to date once per test run by test/support/global-setup.js); for what only a real process
 *   shows (exit status, stream flushing, start-up without ts-node), in test/cli-process.test.ts.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../bin/lib/main';

export const REPO = path.resolve(__dirname, '../..');
export const FIXTURES = __dirname;
export const SMALL_FLEET = path.join(FIXTURES, 'small.fleet.yaml');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

type Write = typeof process.stdout.write;

/** A `write` that appends to `sink` and, like a stream, calls back once the chunk is taken. */
function capturingWrite(sink: string[]): Write {
  type Callback = (err?: Error | null) => void;
  return ((chunk: string | Uint8Array, encodingOrCb?: BufferEncoding | Callback, cb?: Callback): boolean => {
    sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const done = typeof encodingOrCb === 'function' ? encodingOrCb : cb;
    if (done) process.nextTick(done);
    return true;
  });
}

/**
 * `gpufleet ...args` in this process, from the repository root, with `GPUFLEET_DEBUG` unset unless
 * `env` sets it: the exit code `main` resolves to and everything written to stdout and stderr meanwhile.
 */
export async function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- saved to be put back as they were
  const saved = { stdout: process.stdout.write, stderr: process.stderr.write, cwd: process.cwd() };
  const savedEnv = new Map(Object.keys({ GPUFLEET_DEBUG: '', ...env }).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries({ GPUFLEET_DEBUG: '', ...env })) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  if (saved.cwd !== REPO) process.chdir(REPO);
  process.stdout.write = capturingWrite(out);
  process.stderr.write = capturingWrite(err);
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
    if (process.cwd() !== saved.cwd) process.chdir(saved.cwd);
    for (const [k, v] of savedEnv) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** `node bin/gpufleet ...args` (the compiled CLI) as a child process from the repository root. */
export function runCliProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd: string = REPO): CliResult {
  const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'gpufleet'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GPUFLEET_DEBUG: '', ...env },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const made: string[] = [];
// the folders of a test file go when the file is done
if (typeof afterAll === 'function') afterAll(() => { for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

/** A fresh temporary folder, removed after the test file. */
export function tempDir(prefix = 'gpufleet-cli-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Writes a file into a fresh temporary folder and returns its path. */
export function tempFile(name: string, content: string): string {
  const file = path.join(tempDir(), name);
  fs.writeFileSync(file, content);
  return file;
}

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);

/**
 * A small well-formedness check for the report: every non-void tag is closed in order (SVG
 * self-closing tags allowed), no stray `<` or `&` in text. Returns the problems found.
 */
export function htmlProblems(html: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const text = html.replace(/<!DOCTYPE[^>]*>/i, '').replace(/<style>[\s\S]*?<\/style>/, '<style></style>');
  const tag = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:="[^"]*")?)*)\s*(\/?)>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  const checkText = (t: string, at: number): void => {
    if (/</.test(t)) problems.push(`stray "<" in text near offset ${at}: ${JSON.stringify(t.slice(0, 60))}`);
    const amp = t.match(/&(?!(?:amp|lt|gt|quot|#39|#\d+|#x[0-9a-f]+);)/i);
    if (amp) problems.push(`unescaped "&" in text near offset ${at}: ${JSON.stringify(t.slice(0, 60))}`);
  };
  while ((m = tag.exec(text)) !== null) {
    checkText(text.slice(last, m.index), last);
    last = tag.lastIndex;
    const [, closing, rawName, attrs, selfClosing] = m;
    const name = rawName.toLowerCase();
    for (const a of attrs.matchAll(/="([^"]*)"/g)) {
      if (/[<>]/.test(a[1])) problems.push(`unescaped "<" or ">" in an attribute of <${name}>: ${a[1].slice(0, 60)}`);
    }
    if (closing) {
      const open = stack.pop();
      if (open !== name) {
        problems.push(`</${name}> closes <${open ?? 'nothing'}> near offset ${m.index}`);
        return problems;
      }
    } else if (!selfClosing && !VOID.has(name)) {
      stack.push(name);
    }
  }
  checkText(text.slice(last), last);
  if (stack.length > 0) problems.push(`unclosed: ${stack.map((s) => `<${s}>`).join(' ')}`);
  return problems;
}
