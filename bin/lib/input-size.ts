/**
 * `--max-input-size SIZE`: how a user raises (or lowers) the size of the input files one command reads.
 *
 * Every input file is refused before it is read when it is larger than 16 MiB (`MAX_INPUT_FILE_BYTES`,
 * constructs/fleet/input-file.ts, issue 14): a file a stranger hands a CI job cannot make gpufleet take
 * gigabytes. A JSON fleet of thousands of models with measured profiles is larger than that (10,000 models
 * with ~200 profile rows each is about 140 MiB) and its owner knows it: the flag lifts the limit for that
 * command alone, up to `MAX_INPUT_SIZE_CEILING`. The message for a file over the limit names the flag and
 * the size to give it. docs/cli.md, "Input files".
 */
import { formatBytes, MAX_INPUT_FILE_BYTES } from '../../constructs/fleet/input-file';
import type { FlagSpec, ParsedArgs } from './args';
import { CliInputError } from './errors';

const MIB = 1024 * 1024;

/**
 * Largest `--max-input-size`: 256 MiB. A JSON fleet needs about 5x its size in memory while it is read and
 * planned (a 140 MiB file peaks near 750 MiB), and V8 cannot hold a text of more than about 512 MiB as one string.
 */
export const MAX_INPUT_SIZE_CEILING = 256 * MIB;

export const MAX_INPUT_SIZE_FLAG: FlagSpec = {
  name: 'max-input-size',
  value: 'SIZE',
  description:
    'the largest fleet file (and saved plan) to read: bytes, or with KiB, MiB, GiB (200MiB); ' +
    `default ${formatBytes(MAX_INPUT_FILE_BYTES)}, at most ${formatBytes(MAX_INPUT_SIZE_CEILING)}`,
};

const UNITS: Record<string, number> = { b: 1, kib: 1024, mib: MIB, gib: 1024 * MIB };

/** `200MiB`, `1.5 GiB`, `16777216` → bytes (whole); undefined for anything else. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = m[2] === '' ? 1 : UNITS[m[2].toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(m[1]) * unit);
  return Number.isFinite(bytes) ? bytes : undefined;
}

/** The command's input limit in bytes: `--max-input-size`, checked before any work; undefined without the flag (16 MiB). */
export function inputLimit(args: ParsedArgs, command: string): number | undefined {
  const v = args.flags['max-input-size'];
  if (v === undefined) return undefined;
  const bytes = typeof v === 'string' ? parseSize(v) : undefined;
  if (bytes === undefined || bytes < 1 || bytes > MAX_INPUT_SIZE_CEILING) {
    const shown = typeof v === 'string' && v.length <= 40 ? `"${v}"` : 'a longer value';
    throw new CliInputError(
      `--max-input-size: expected a size from 1 byte to ${formatBytes(MAX_INPUT_SIZE_CEILING)} ` +
        `(bytes, or a number with KiB, MiB or GiB: 200MiB), got ${shown}`,
      { usage: true, command },
    );
  }
  return bytes;
}

/**
 * The end of the message for a file over the limit: the flag and the size that reads it (whole MiB), or, past
 * the ceiling, that gpufleet reads no file that large.
 */
export function raiseLimitHint(maxBytes: number, sizeBytes: number | undefined): string {
  const need = sizeBytes ?? Math.max(2 * maxBytes, maxBytes + 1);
  if (need > MAX_INPUT_SIZE_CEILING) {
    return `gpufleet reads at most ${formatBytes(MAX_INPUT_SIZE_CEILING)} (--max-input-size), so split the fleet`;
  }
  return `pass --max-input-size ${Math.ceil(need / MIB)}MiB${sizeBytes === undefined ? ' (or more)' : ''} to read it`;
}
