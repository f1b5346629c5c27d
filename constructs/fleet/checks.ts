import { FLEET_LIMITS } from './limits';
import { describeValue } from './names';
import { quoteKey } from './quote';

/**
 * Problems collected while walking an input; every check returns the value when it is valid. At most
 * `FLEET_LIMITS.maxProblems` are kept one per line (`list()` adds one line counting the rest), so a file of a
 * million bad rows is still a short answer.
 */
export class Problems {
  /** The problems kept (the first `maxProblems`). */
  public readonly all: string[] = [];
  /** Every problem found, kept or only counted. */
  public count = 0;
  /**
   * Own keys of the mappings read, each counted once by the check that reads it (`keys`, or the walker's own loop):
   * a fleet file's duplicate-key check uses it (document.ts, `JsonDocument.checkDuplicateKeys`), so no mapping may
   * be counted twice.
   */
  public keysRead = 0;

  constructor(private readonly max: number = FLEET_LIMITS.maxProblems) {}

  add(problem: string): void {
    this.count++;
    if (this.all.length < this.max) this.all.push(problem);
  }

  /** The problems to print: the kept ones, then `... and N more problems` when some were only counted. */
  list(): string[] {
    const more = this.count - this.all.length;
    return more > 0 ? [...this.all, `... and ${more} more problem${more === 1 ? '' : 's'}`] : [...this.all];
  }

  /** A plain object (mapping), else a problem. */
  object(path: string, value: unknown): Record<string, unknown> | undefined {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    this.add(`${path}: expected a mapping, got ${describeValue(value)}`);
    return undefined;
  }

  /** A list, else a problem. */
  array(path: string, value: unknown): unknown[] | undefined {
    if (Array.isArray(value)) return value as unknown[];
    this.add(`${path}: expected a list, got ${describeValue(value)}`);
    return undefined;
  }

  /**
   * Reports keys outside `allowed`, suggesting the closest allowed key. The key is quoted (at most 100
   * characters of it) and only a key of at most `FLEET_LIMITS.maxSuggestKeyChars` characters is compared with
   * the allowed ones, so neither the message nor the work grows with the key.
   */
  keys(path: string, obj: Record<string, unknown>, allowed: readonly string[]): void {
    const keys = Object.keys(obj);
    this.keysRead += keys.length;
    for (const key of keys) {
      if (allowed.includes(key)) continue;
      if (this.all.length >= this.max) {
        this.count++;
        continue;
      } // only counted: no message to build
      const near = key.length <= FLEET_LIMITS.maxSuggestKeyChars ? closest(key, allowed) : undefined;
      this.add(`${keyPath(path, key)}: unknown key; ` + (near ? `did you mean "${near}"?` : `allowed: ${allowed.join(', ')}`));
    }
  }

  /** A required field: reports it missing, else returns it. */
  required(path: string, obj: Record<string, unknown>, key: string, expected: string): unknown {
    if (obj[key] === undefined || obj[key] === null) {
      this.add(`${join(path, key)}: required, expected ${expected}`);
      return undefined;
    }
    return obj[key];
  }

  /** A finite number satisfying `ok`; `expected` describes the constraint (`a number > 0`). */
  number(path: string, value: unknown, expected: string, ok: (n: number) => boolean): number | undefined {
    if (typeof value === 'number' && Number.isFinite(value) && ok(value)) return value;
    this.add(`${path}: expected ${expected}, got ${describeValue(value)}`);
    return undefined;
  }

  /**
   * A finite number satisfying `ok` and at most `max`. The message states the upper bound when the value is
   * above it (`expected a number > 0 and <= 1000000000, got 1000000000000`), else `expected` alone.
   */
  bounded(path: string, value: unknown, expected: string, max: number, ok: (n: number) => boolean): number | undefined {
    if (typeof value === 'number' && value > max) {
      this.add(`${path}: expected ${expected} and <= ${max}, got ${describeValue(value)}`);
      return undefined;
    }
    return this.number(path, value, expected, ok);
  }

  /** A number > 0 and at most `max`. */
  positive(path: string, value: unknown, max: number): number | undefined {
    return this.bounded(path, value, 'a number > 0', max, (n) => n > 0);
  }

  /** An integer > 0 and at most `max`. */
  positiveInt(path: string, value: unknown, max: number): number | undefined {
    return this.bounded(path, value, 'an integer > 0', max, (n) => Number.isInteger(n) && n > 0);
  }

  /** A non-empty string; with `maxChars`, of at most that many characters. */
  string(path: string, value: unknown, maxChars?: number): string | undefined {
    if (typeof value === 'string' && value.length > 0 && (maxChars === undefined || value.length <= maxChars)) return value;
    if (typeof value === 'string' && maxChars !== undefined && value.length > maxChars) {
      this.add(
        `${path}: expected a non-empty string of at most ${maxChars} characters, got ${describeValue(value)}` +
          (value.length <= 100 ? ` (${value.length} characters)` : ''),
      );
      return undefined;
    }
    this.add(`${path}: expected a non-empty string, got ${describeValue(value)}`);
    return undefined;
  }

  boolean(path: string, value: unknown): boolean | undefined {
    if (typeof value === 'boolean') return value;
    this.add(`${path}: expected true or false, got ${describeValue(value)}`);
    return undefined;
  }
}

/** `a.b` or `b` at the top level. */
export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** The path of a key as a message shows it: `models[3].colour`, or quoted and bounded, `models[3]["a b"]`. */
export function keyPath(path: string, key: string): string {
  const k = quoteKey(key);
  return k.startsWith('[') || !path ? `${path}${k}` : `${path}.${k}`;
}

/**
 * Edit distance (insert, delete, substitute, swap of neighbours), in three rows of `b.length + 1` numbers:
 * O(|a| x |b|) time and O(|b|) memory.
 */
export function editDistance(a: string, b: string): number {
  let before = new Array<number>(b.length + 1).fill(0); // row i - 2
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j); // row i - 1
  let row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2] + 1);
      row[j] = d;
    }
    [before, prev, row] = [prev, row, before];
  }
  return prev[b.length];
}

/**
 * The allowed word closest to `word` (case-insensitive), when close enough to be a typo. A word longer than
 * twice the longest allowed word plus 2 is no typo of any: it is not compared (bounded work for any input).
 */
export function closest(word: string, allowed: readonly string[]): string | undefined {
  const longest = allowed.reduce((n, a) => Math.max(n, a.length), 0);
  if (word.length > 2 * longest + 2) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const dist = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (dist < bestDistance) {
      best = candidate;
      bestDistance = dist;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}
