import { describeValue } from './names';

/** Problems collected while walking an input; every check returns the value when it is valid. */
export class Problems {
  public readonly all: string[] = [];

  add(problem: string): void {
    this.all.push(problem);
  }

  /** A plain object (mapping), else a problem. */
  object(path: string, value: unknown): Record<string, unknown> | undefined {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    this.add(`${path}: expected a mapping, got ${describeValue(value)}`);
    return undefined;
  }

  /** A list, else a problem. */
  array(path: string, value: unknown): unknown[] | undefined {
    if (Array.isArray(value)) return value;
    this.add(`${path}: expected a list, got ${describeValue(value)}`);
    return undefined;
  }

  /** Reports keys outside `allowed`, suggesting the closest allowed key. */
  keys(path: string, obj: Record<string, unknown>, allowed: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (allowed.includes(key)) continue;
      const near = closest(key, allowed);
      this.add(`${path ? `${path}.` : ''}${key}: unknown key; `
        + (near ? `did you mean "${near}"?` : `allowed: ${allowed.join(', ')}`));
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

  positive(path: string, value: unknown): number | undefined {
    return this.number(path, value, 'a number > 0', (n) => n > 0);
  }

  positiveInt(path: string, value: unknown): number | undefined {
    return this.number(path, value, 'an integer > 0', (n) => Number.isInteger(n) && n > 0);
  }

  string(path: string, value: unknown): string | undefined {
    if (typeof value === 'string' && value.length > 0) return value;
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

/** Edit distance (insert, delete, substitute, swap of neighbours). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The allowed word closest to `word` (case-insensitive), when close enough to be a typo. */
export function closest(word: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const dist = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (dist < bestDistance) { best = candidate; bestDistance = dist; }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}
