/**
 * Errors and exit codes of the gpufleet command line.
 *
 * - 0: success
 * - 1: an internal error (a bug in gpufleet); the stack is printed only with GPUFLEET_DEBUG=1
 * - 2: the input is wrong: usage (unknown command or flag, missing argument), an unreadable
 *      file, or a fleet file with problems (one line per problem)
 */

export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_INPUT = 2;

/** A problem with the command line or the files it names; printed without a stack, exit code 2. */
export class CliInputError extends Error {
  /** One line per problem; `message` joins them. */
  public readonly problems: readonly string[];
  /** Print a hint to run `--help` after the problems. */
  public readonly showUsageHint: boolean;
  /** The command whose `--help` the hint names. */
  public readonly command?: string;

  constructor(problems: string | readonly string[], opts: { usage?: boolean; command?: string } = {}) {
    const list = typeof problems === 'string' ? [problems] : [...problems];
    super(list.join('\n'));
    this.name = 'CliInputError';
    this.problems = list;
    this.showUsageHint = opts.usage ?? false;
    this.command = opts.command;
  }
}

/** A usage error: unknown command or flag, missing argument. */
export function usageError(message: string, command?: string): CliInputError {
  return new CliInputError(message, { usage: true, command });
}

/**
 * The problems of a validation error thrown by a lower layer (fleet parsing, plan checks): an error
 * carrying `problems: string[]`, such as `FleetValidationError`. Undefined for any other error.
 */
export function problemsOf(err: unknown): string[] | undefined {
  if (!(err instanceof Error)) return undefined;
  const problems = (err as { problems?: unknown }).problems;
  if (Array.isArray(problems) && problems.length > 0 && problems.every((p) => typeof p === 'string')) {
    return problems;
  }
  return undefined;
}
