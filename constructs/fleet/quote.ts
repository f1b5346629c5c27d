/**
 * Input values in error messages, bounded: a message quotes at most `QUOTE_MAX_CHARS` characters of any
 * value it received, so a 50 MB name or a whole file read by mistake (`gpufleet:fleetFile: /etc/passwd`)
 * becomes one short line, never the input itself. Control characters are escaped, so one problem stays
 * one line and no terminal escape sequence from an input reaches the user's terminal.
 */

/** Characters of an input value an error message quotes at most. */
export const QUOTE_MAX_CHARS = 100;

/** Characters of one problem line at most (`clipLine`): a path, an explanation and a quoted value. */
export const PROBLEM_LINE_MAX_CHARS = 400;

/** `s` cut to `max` UTF-16 units without splitting a surrogate pair. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  const code = s.charCodeAt(max - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/**
 * An input value as an error message shows it, at most `max` characters of it:
 * - a string: JSON-quoted (control characters escaped); a longer one is cut and its length given:
 *   `"root:x:0:0:root:…" (1303 characters)`;
 * - a number, boolean or bigint: as written (`-5`, `NaN`, `true`);
 * - `undefined`: `nothing`; `null`: `null`; a list: `a list of 3`; any other object: `an object`.
 */
export function quote(value: unknown, max: number = QUOTE_MAX_CHARS): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'string') {
    if (value.length <= max) return JSON.stringify(value);
    return `${JSON.stringify(`${cut(value, max)}…`)} (${value.length} characters)`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') {
    const s = `${value}n`;
    return s.length <= max ? s : `${cut(s, max)}… (${s.length} characters)`;
  }
  if (typeof value === 'object') return 'an object';
  return typeof value; // function, symbol: never in parsed input
}

/**
 * A key for a path in an error message: as it is when it is a plain identifier of at most `max`
 * characters (`models[3].colour`), else quoted and bounded (`models[3]["a b"]`).
 */
export function quoteKey(key: string, max: number = QUOTE_MAX_CHARS): string {
  return /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) && key.length <= max ? key : `[${quote(key, max)}]`;
}

/**
 * One problem line as it may be printed: control characters escaped (`\n` stays one line), and a line
 * longer than `max` characters cut, with the number of characters left out. The safety net for messages
 * built by code that does not quote with `quote()` yet.
 */
export function clipLine(line: string, max: number = PROBLEM_LINE_MAX_CHARS): string {
  // eslint-disable-next-line no-control-regex
  const escaped = line.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  if (escaped.length <= max) return escaped;
  return `${cut(escaped, max)}… (${escaped.length - cut(escaped, max).length} more characters)`;
}
