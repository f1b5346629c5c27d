/**
 * Duplicate keys in JSON text. `JSON.parse` keeps the last of two equal keys silently, so the
 * fleet parser checks the (already valid) JSON text for a mapping with a key twice.
 *
 * The common case, no duplicate, is proven by counting (`hasDuplicateKey`): the keys written in the text
 * (or, quicker, the colons, which are at least as many) against the own keys of every object `JSON.parse`
 * returned — a duplicate is the only way the second count can be smaller. Only when they differ does
 * `findDuplicateKey` scan the text for the first duplicate, its path and position, for the message.
 *
 * `findDuplicateKey` scans the text once for a mapping with a key twice. Linear in
 * the text (keys are looked up by hash, so an object of a million keys costs a million lookups, not
 * a million squared); builds no string on the way except for keys with escapes, and names the path
 * (each key quoted and bounded, as `quoteKey` writes it) and the position of the duplicate only when
 * it finds one.
 */
import { quoteKey } from './quote';

export interface DuplicateKey {
  /** The path of the duplicate key, as validation errors write it (`models[3].profiles[0].batch`). */
  readonly path: string;
  /** Character offsets of the duplicate and of the first occurrence. */
  readonly offset: number;
  readonly firstOffset: number;
}

interface Frame {
  readonly object: boolean;
  /** Object: key spans seen, as [start, end) offsets of the raw key text between the quotes. */
  readonly keys: number[];
  /** Object: indices into `keys` (by pairs) of the keys with each hash, to compare spans only when they may be equal. */
  readonly hashes: Map<number, number[]>;
  /** Object: whether each key has escapes (then keys are compared decoded). */
  readonly escapes: boolean[];
  /** Array: index of the current element. */
  index: number;
  /** Object: span of the current key. */
  keyStart: number;
  keyEnd: number;
}

const QUOTE = 34;
const BACKSLASH = 92;

/**
 * Whether valid JSON `text`, whose `JSON.parse` result is `value`, has an object with a key twice. Linear:
 * one pass over the text's strings (jumping from quote to quote with `indexOf`, a key being a string
 * followed by a colon) and one over the parsed value's objects; builds no string.
 */
export function hasDuplicateKey(text: string, value: unknown): boolean {
  const valueKeys = countValueKeys(value);
  // Every key written in the text is followed by a colon of its own outside strings, so colons >= keys
  // written >= keys parsed: when the text has no more colons than the parsed objects have keys (no colon in a
  // string, the usual case), no key was written twice. Counting colons is one indexOf per colon, about half
  // the work of counting keys (one per quote, and the look at what follows each string).
  if (countColons(text) <= valueKeys) return false;
  return countTextKeys(text) !== valueKeys;
}

/**
 * False when valid JSON `text` writes at most `keys` keys: it has no more colons than that (every key written is
 * followed by a colon of its own). A caller that counted `keys` own keys of distinct objects of the text's
 * `JSON.parse` result then knows that no key was written twice (written >= parsed >= counted >= colons >= written).
 */
export function textMayHaveMoreKeys(text: string, keys: number): boolean {
  return countColons(text) > keys;
}

/** `:` characters in the text, in strings or not. */
function countColons(text: string): number {
  let n = 0;
  for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) n++;
  return n;
}

/** Keys written in valid JSON text: strings followed (after white space) by `:`. */
function countTextKeys(text: string): number {
  let keys = 0;
  let i = text.indexOf('"');
  while (i >= 0) {
    // the closing quote: the next quote not escaped (preceded by an even number of backslashes)
    let j = text.indexOf('"', i + 1);
    for (;;) {
      let b = j - 1;
      while (text.charCodeAt(b) === BACKSLASH) b--;
      if ((j - 1 - b) % 2 === 0) break;
      j = text.indexOf('"', j + 1);
    }
    let k = j + 1;
    let c = text.charCodeAt(k);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++k);
    if (c === 58 /* : */) keys++;
    i = text.indexOf('"', k);
  }
  return keys;
}

/** Whether `Object.prototype` (the prototype of every object `JSON.parse` makes) has an enumerable property. */
function prototypeEnumerates(): boolean {
  for (const k in {}) if (k !== undefined) return true;
  return false;
}

/** Own keys of every object in a `JSON.parse` result (which defines even `__proto__` as an own key). */
function countValueKeys(value: unknown): number {
  // `for...in` yields only own keys unless Object.prototype was given an enumerable property: checked once,
  // so that the usual case (about a million keys in a 1,000-model fleet) needs no hasOwnProperty call per key
  return countKeys(value, prototypeEnumerates());
}

function countKeys(value: unknown, checkOwn: boolean): number {
  if (value === null || typeof value !== 'object') return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (v !== null && typeof v === 'object') n += countKeys(v, checkOwn);
    }
    return n;
  }
  for (const k in value as Record<string, unknown>) {
    if (checkOwn && !Object.prototype.hasOwnProperty.call(value, k)) continue;
    n++;
    const v = (value as Record<string, unknown>)[k];
    if (v !== null && typeof v === 'object') n += countKeys(v, checkOwn);
  }
  return n;
}

/** The first duplicate key of valid JSON text, or undefined. */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  const stack: Frame[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const ch = text.charCodeAt(i);
    if (ch === QUOTE) {
      // a string: a key when the next non-space character is a colon
      const start = i + 1;
      let j = start;
      let hash = 0x811c9dc5;
      let escaped = false;
      for (;;) {
        const c = text.charCodeAt(j);
        if (c === QUOTE) break;
        if (c === BACKSLASH) {
          escaped = true;
          j += 2;
          continue;
        }
        hash = Math.imul(hash ^ c, 0x01000193);
        j++;
      }
      const end = j;
      i = j + 1;
      let k = i;
      while (k < n && isSpace(text.charCodeAt(k))) k++;
      const top = stack[stack.length - 1];
      if (top && top.object && text.charCodeAt(k) === 58 /* : */) {
        if (escaped) hash = hashOf(JSON.parse(text.slice(start - 1, end + 1)) as string);
        const dup = findKey(text, top, start, end, hash, escaped);
        if (dup >= 0) return { path: pathOf(text, stack, start, end), offset: start - 1, firstOffset: dup - 1 };
        const same = top.hashes.get(hash);
        if (same) same.push(top.escapes.length);
        else top.hashes.set(hash, [top.escapes.length]);
        top.keys.push(start, end);
        top.escapes.push(escaped);
        top.keyStart = start;
        top.keyEnd = end;
      }
      continue;
    }
    if (ch === 123 /* { */) stack.push({ object: true, keys: [], hashes: new Map(), escapes: [], index: 0, keyStart: -1, keyEnd: -1 });
    else if (ch === 91 /* [ */) stack.push({ object: false, keys: [], hashes: new Map(), escapes: [], index: 0, keyStart: -1, keyEnd: -1 });
    else if (ch === 125 /* } */ || ch === 93 /* ] */) stack.pop();
    else if (ch === 44 /* , */) {
      const top = stack[stack.length - 1];
      if (top && !top.object) top.index++;
    }
    i++;
  }
  return undefined;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < key.length; k++) h = Math.imul(h ^ key.charCodeAt(k), 0x01000193);
  return h;
}

/** Start offset of an earlier equal key of the object, or -1. */
function findKey(text: string, frame: Frame, start: number, end: number, hash: number, escaped: boolean): number {
  for (const k of frame.hashes.get(hash) ?? []) {
    const s = frame.keys[2 * k];
    const e = frame.keys[2 * k + 1];
    if (escaped || frame.escapes[k]) {
      // escapes: compare the decoded keys
      if (decode(text, s, e) === decode(text, start, end)) return s;
      continue;
    }
    if (e - s !== end - start) continue;
    let same = true;
    for (let c = 0; c < e - s; c++) {
      if (text.charCodeAt(s + c) !== text.charCodeAt(start + c)) {
        same = false;
        break;
      }
    }
    if (same) return s;
  }
  return -1;
}

function decode(text: string, start: number, end: number): string {
  return JSON.parse(text.slice(start - 1, end + 1)) as string;
}

/** The path to a key, from the stack of open objects and arrays (only built for an error). */
function pathOf(text: string, stack: readonly Frame[], start: number, end: number): string {
  let out = '';
  for (let d = 0; d < stack.length; d++) {
    const f = stack[d];
    if (d === stack.length - 1) break;
    if (f.object) out = withKey(out, decode(text, f.keyStart, f.keyEnd));
    else out += `[${f.index}]`;
  }
  return withKey(out, decode(text, start, end));
}

/** `a.b`, `b` at the top, or a quoted and bounded key `a["x y"]` (`quoteKey`). */
function withKey(path: string, key: string): string {
  const k = quoteKey(key);
  return k.startsWith('[') || !path ? `${path}${k}` : `${path}.${k}`;
}
