/**
 * The one way gpufleet reads an input file (fleet, saved plan, stack configuration's files, router
 * configuration): bounded before anything is read.
 *
 * - Only regular files: a directory, FIFO, socket or device (`/dev/zero`, `/dev/stdin` on a pipe) is refused
 *   from its `fstat`, before a byte is read. The file is opened non-blocking, so a FIFO without a writer
 *   cannot hang the open.
 * - At most `MAX_INPUT_FILE_BYTES` (16 MiB): a larger file is refused from its size, and a file that grows
 *   while it is read (or reports no size, as `/proc` files do) is read only up to one byte past the limit.
 * - UTF-8 text: invalid bytes are an error, not silently replaced (a leading byte-order mark is dropped).
 *
 * Every refusal is one `InputFileError` with one line naming the file (quoted, at most 100 characters)
 * and why.
 */
import { isUtf8 } from 'buffer';
import * as fs from 'fs';
import { quote } from './quote';

/**
 * Largest input file gpufleet reads by default: 16 MiB. A 1,000-model JSON fleet with ~200 measured profile
 * rows per model is about 14 MiB, the plan document of a 10,000-model fleet about 2 MiB. A caller that
 * owns its inputs raises it per read (`maxBytes`; the CLI's `--max-input-size`, docs/cli.md).
 */
export const MAX_INPUT_FILE_BYTES = 16 * 1024 * 1024;

/** An input file gpufleet will not read; `problems` holds the one line to print. */
export class InputFileError extends Error {
  /** One line per problem (exactly one): `FLEET "x.yaml": is a directory, expected a file`. */
  public readonly problems: string[];
  /** The path as given. */
  public readonly path: string;
  /** Why, without the file name: `is a directory, expected a file`. */
  public readonly reason: string;

  constructor(what: string, path: string, reason: string) {
    const line = `${what} ${quote(path)}: ${reason}`;
    super(line);
    this.name = 'InputFileError';
    this.problems = [line];
    this.path = path;
    this.reason = reason;
  }
}

/** Options of `readInputFile`. */
export interface ReadInputFileOptions {
  /** What the file is, for the message: `FLEET`, `--plan`, `gpufleet:fleetFile`. @default 'input file' */
  readonly what?: string;
  /** Largest size in bytes. @default MAX_INPUT_FILE_BYTES */
  readonly maxBytes?: number;
  /**
   * How the reader's caller raises the limit, appended to the message for a file over it: given the
   * limit and the file's size (undefined when the file reported none), e.g.
   * `pass --max-input-size 138MiB to read it`. @default none
   */
  readonly raiseLimit?: (maxBytes: number, sizeBytes: number | undefined) => string;
}

/** `16 MiB`, `1.5 KiB`, `300 bytes`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toFixed(1))} ${units[i]}`;
}

/** What a non-regular file is, for the message. */
function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The reason of an open or read error, in words. */
function reasonOf(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'cannot read the file (no such file)';
    case 'EACCES':
    case 'EPERM':
      return 'cannot read the file (permission denied)';
    case 'EISDIR':
      return 'is a directory, expected a file';
    case 'ENOTDIR':
      return 'cannot read the file (a part of the path is not a folder)';
    case 'ELOOP':
      return 'cannot read the file (too many symbolic links)';
    case 'ENAMETOOLONG':
      return 'cannot read the file (the path is too long)';
    default:
      return `cannot read the file (${e.code ?? e.message})`;
  }
}

/**
 * Checks a file's type and size without reading it: the error `readInputFile` would throw for them now,
 * or undefined. (A check, not a promise: read with `readInputFile`, which checks again on the open file.)
 */
export function checkInputFile(path: string, options: ReadInputFileOptions = {}): InputFileError | undefined {
  try {
    readBounded(path, options, false);
    return undefined;
  } catch (e) {
    if (e instanceof InputFileError) return e;
    throw e;
  }
}

/**
 * Reads a regular file of at most `maxBytes` (default 16 MiB) as UTF-8 text, refusing anything else before
 * reading it; throws `InputFileError` with one line naming the file and the reason.
 */
export function readInputFile(path: string, options: ReadInputFileOptions = {}): string {
  return readBounded(path, options, true)!;
}

function readBounded(path: string, options: ReadInputFileOptions, read: boolean): string | undefined {
  const what = options.what ?? 'input file';
  const max = options.maxBytes ?? MAX_INPUT_FILE_BYTES;
  const fail = (reason: string): never => {
    throw new InputFileError(what, path, reason);
  };
  if (typeof path !== 'string' || path.length === 0) fail('expected a file path');
  if (path.includes('\0')) fail('cannot read the file (the path contains a NUL character)');
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO that has no writer returns at once instead of hanging (it is refused below).
    fd = fs.openSync(path, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    return fail(reasonOf(e as NodeJS.ErrnoException));
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) fail('is a directory, expected a file');
    if (!st.isFile()) fail(`is ${kindOf(st)}, not a regular file; gpufleet reads only regular files`);
    const tooLarge = (size: number | undefined): never => {
      const hint = options.raiseLimit ? `; ${options.raiseLimit(max, size)}` : '';
      return fail(
        `is ${size === undefined ? 'more than' : `${formatBytes(size)}, more than`} ` +
          `the ${formatBytes(max)} gpufleet reads from an input file${hint}`,
      );
    };
    if (st.size > max) tooLarge(st.size);
    if (!read) return undefined;
    // One buffer of the announced size + 1 (so the end is seen in one read), grown only for a file that
    // grows while it is read (or reports no size, as /proc files do); never more than max + 1 bytes.
    let bytes = Buffer.allocUnsafe(Math.min(Math.max(st.size + 1, 64 * 1024), max + 1));
    let total = 0;
    for (;;) {
      if (total === bytes.length) {
        const grown = Buffer.allocUnsafe(Math.min(2 * bytes.length, max + 1));
        bytes.copy(grown, 0, 0, total);
        bytes = grown;
      }
      let n: number;
      try {
        n = fs.readSync(fd, bytes, total, bytes.length - total, null);
      } catch (e) {
        return fail(reasonOf(e as NodeJS.ErrnoException));
      }
      if (n === 0) break;
      total += n;
      if (total > max) tooLarge(undefined);
    }
    const text = bytes.subarray(0, total);
    const bom = total >= 3 && text[0] === 0xef && text[1] === 0xbb && text[2] === 0xbf ? 3 : 0;
    // invalid bytes are an error, never replaced with U+FFFD: the decoder replaces every invalid sequence with
    // U+FFFD, so decoded text without one came from valid UTF-8 (the BOM is valid); with one (written in the
    // file, or a replacement), the exact check on the bytes decides (a search for a two-byte character in
    // ASCII text, which a fleet file usually is, costs nothing; the check costs a pass over every byte)
    const decoded = text.toString('utf8', bom, total);
    if (decoded.includes('\uFFFD') && !isUtf8(text)) {
      return fail(`is not UTF-8 text (invalid byte sequence at byte ${firstInvalidUtf8(text)})`);
    }
    return decoded;
  } finally {
    fs.closeSync(fd);
  }
}

/** Offset of the first byte of the first invalid UTF-8 sequence (Unicode 15, table 3-7), for the message. */
export function firstInvalidUtf8(b: Uint8Array): number {
  const cont = (x: number | undefined, lo = 0x80, hi = 0xbf): boolean => x !== undefined && x >= lo && x <= hi;
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let ok: boolean;
    let len: number;
    if (c < 0x80) {
      ok = true;
      len = 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
      ok = cont(b[i + 1]);
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      const lo = c === 0xe0 ? 0xa0 : 0x80;
      const hi = c === 0xed ? 0x9f : 0xbf;
      ok = cont(b[i + 1], lo, hi) && cont(b[i + 2]);
      len = 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      const lo = c === 0xf0 ? 0x90 : 0x80;
      const hi = c === 0xf4 ? 0x8f : 0xbf;
      ok = cont(b[i + 1], lo, hi) && cont(b[i + 2]) && cont(b[i + 3]);
      len = 4;
    } else {
      ok = false;
      len = 1;
    }
    if (!ok) return i;
    i += len;
  }
  return -1;
}
