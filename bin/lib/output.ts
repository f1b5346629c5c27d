/** Writing command output: to a file (parent folders created, written whole or not at all) or stdout. */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { quote } from '../../constructs/fleet/quote';
import { CliInputError } from './errors';

/** Options of `writeOutputFile`. */
export interface OutputFileOptions {
  /**
   * The files the command read (fleet, `--plan`): `--out` may not be one of them, compared by device and
   * inode (so `./fleet.yaml`, an absolute path, a hard link or a symbolic link to it are all caught).
   */
  readonly inputs?: readonly string[];
}

/** Device and inode of an existing file, following links; undefined when there is none. */
function identity(file: string): string | undefined {
  try {
    const st = fs.statSync(file, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** What a non-regular file is, for the message. */
function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Checks `--out` before anything is written: not a folder, not a symbolic link (gpufleet never writes
 * through one: the rename would replace the link, and following it would write wherever it points),
 * not a FIFO, device or socket, and not one of the command's input files.
 */
export function outputFileProblem(file: string, options: OutputFileOptions = {}): string | undefined {
  const where = `--out ${quote(file)}`;
  const abs = path.resolve(file);
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return `${where}: cannot check the path (${code ?? (e as Error).message})`;
  }
  if (st?.isDirectory()) return `${where}: is a directory, expected a file path`;
  if (st?.isSymbolicLink()) {
    return (
      `${where}: is a symbolic link; gpufleet does not write through links, give the path of the file itself` +
      (identity(abs) !== undefined ? ` (${quote(fs.realpathSync(abs))})` : '')
    );
  }
  if (st && !st.isFile()) return `${where}: is ${kindOf(st)}; gpufleet writes only regular files`;
  if (st) {
    const out = identity(abs);
    for (const input of options.inputs ?? []) {
      if (out !== undefined && identity(input) === out) {
        return `${where}: is the input file ${quote(input)}; writing there would overwrite it, choose another path`;
      }
    }
  }
  return undefined;
}

/** Throws the exit-2 error of `outputFileProblem`, if any: for a check before the command does its work. */
export function checkOutputFile(file: string, options: OutputFileOptions = {}): void {
  const problem = outputFileProblem(file, options);
  if (problem) throw new CliInputError(problem);
}

/**
 * Writes `content` to `file`, creating parent folders, after `outputFileProblem` found nothing wrong.
 * The text goes to a new temporary file beside it first (created exclusively, never through an existing
 * file or link) and is renamed into place, so a failure never leaves a half-written file.
 */
export function writeOutputFile(file: string, content: string, options: OutputFileOptions = {}): void {
  checkOutputFile(file, options);
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CliInputError(
      `--out ${quote(file)}: cannot create the folder ${quote(dir)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  const tmp = path.join(dir, `.${path.basename(abs)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  try {
    // 'wx': O_CREAT | O_EXCL, which fails on any existing file and does not follow a link planted at that name.
    fs.writeFileSync(tmp, content, { flag: 'wx' });
    created = true;
    fs.renameSync(tmp, abs);
  } catch (e) {
    if (created) {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        /* nothing to clean up */
      }
    }
    throw new CliInputError(`--out ${quote(file)}: cannot write the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
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
