/** Writing command output: to a file (parent folders created, written whole or not at all) or stdout. */
import * as fs from 'fs';
import * as path from 'path';
import { CliInputError } from './errors';

/**
 * Writes `content` to `file`, creating parent folders. The text goes to a temporary file beside it
 * first and is renamed into place, so a failure never leaves a half-written file.
 */
export function writeOutputFile(file: string, content: string): void {
  const abs = path.resolve(file);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) throw new CliInputError(`--out "${file}": is a directory, expected a file path`);
  const dir = path.dirname(abs);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CliInputError(`--out "${file}": cannot create the folder ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const tmp = path.join(dir, `.${path.basename(abs)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, content);
    fs.renameSync(tmp, abs);
  } catch (e) {
    try { fs.rmSync(tmp, { force: true }); } catch { /* nothing to clean up */ }
    throw new CliInputError(`--out "${file}": cannot write the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Writes to stdout and resolves once the text is flushed (large plans through a pipe). */
export function writeStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => {
      // a reader that went away (`gpufleet plan f.yaml | head`) is not an error
      if (!err || (err as NodeJS.ErrnoException).code === 'EPIPE') resolve();
      else reject(err);
    });
  });
}
