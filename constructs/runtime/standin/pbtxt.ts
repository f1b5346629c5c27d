/**
 * `config.pbtxt` read the way Triton reads it: protobuf text format into `inference.ModelConfig`, the schema being
 * Triton's own `model_config.proto` (triton-inference-server/common r25.08, in `../shared/triton/`), reflected with
 * protobufjs. Triton parses with `google::protobuf::TextFormat::Parser` (core r25.08 `src/model_config_utils.cc`
 * via common `ReadTextProto`), which rejects:
 *
 * - a field the message does not have, and an enum value name the enum does not have;
 * - a scalar of the wrong kind (a string for a number, a negative number for an unsigned field, a fraction for an
 *   integer, an integer out of range), a bool that is not true/false/t/f/1/0;
 * - a singular field given twice, two fields of one oneof;
 * - a scalar field without `:` (the colon is optional before a message only), unbalanced braces, trailing garbage.
 *
 * Lists (`dims: [ 1, 2 ]`) are allowed on repeated fields only; map fields are written as repeated entries
 * `{ key: ... value: ... }`. `#` starts a comment.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';

/**
 * The repository root: the nearest directory above this file with a package.json (also from a compiled copy).
 * Triton's schema is read from `../shared/triton/` beside a checkout of the repository; an installed package has
 * none, so there the stand-in refuses models given with a `config.pbtxt` (repository.ts) and runs every other way.
 */
function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

export const MODEL_CONFIG_PROTO = path.resolve(repoRoot(), '..', 'shared', 'triton', 'model_config.proto');

let modelConfigType: protobuf.Type | undefined;

/** The reflected `inference.ModelConfig`, or undefined when `../shared` is absent. */
export function modelConfigSchema(): protobuf.Type | undefined {
  if (modelConfigType) return modelConfigType;
  if (!fs.existsSync(MODEL_CONFIG_PROTO)) return undefined;
  const root = new protobuf.Root();
  root.loadSync(MODEL_CONFIG_PROTO, { keepCase: true });
  root.resolveAll();
  modelConfigType = root.lookupType('inference.ModelConfig');
  return modelConfigType;
}

interface Token {
  readonly kind: 'ident' | 'number' | 'string' | 'punct';
  readonly text: string;
  readonly line: number;
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) i++;
    else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      out.push({ kind: 'ident', text: m[0], line });
      i += m[0].length;
    } else if (/[-+0-9.]/.test(c)) {
      const m = /^[-+]?(?:0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?[fF]?|inf|nan)/.exec(text.slice(i));
      if (!m || m[0] === '' || m[0] === '-' || m[0] === '+') throw new Error(`line ${line}: unexpected ${JSON.stringify(c)}`);
      out.push({ kind: 'number', text: m[0], line });
      i += m[0].length;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\n') throw new Error(`line ${line}: string not closed`);
        if (text[j] === '\\') {
          const e = text[j + 1];
          const map: Record<string, string> = {
            n: '\n',
            t: '\t',
            r: '\r',
            '\\': '\\',
            '"': '"',
            "'": "'",
            a: '\x07',
            b: '\b',
            f: '\f',
            v: '\v',
            '?': '?',
          };
          if (map[e] !== undefined) {
            s += map[e];
            j += 2;
          } else if (/[0-7]/.test(e)) {
            const o = /^[0-7]{1,3}/.exec(text.slice(j + 1))![0];
            s += String.fromCharCode(parseInt(o, 8));
            j += 1 + o.length;
          } else if (e === 'x') {
            const h = /^[0-9a-fA-F]{1,2}/.exec(text.slice(j + 2))?.[0];
            if (!h) throw new Error(`line ${line}: bad \\x escape`);
            s += String.fromCharCode(parseInt(h, 16));
            j += 2 + h.length;
          } else throw new Error(`line ${line}: unknown escape \\${e}`);
        } else s += text[j++];
      }
      if (j >= text.length) throw new Error(`line ${line}: string not closed`);
      // adjacent string literals are concatenated
      const prev = out[out.length - 1];
      if (prev?.kind === 'string') out[out.length - 1] = { ...prev, text: prev.text + s };
      else out.push({ kind: 'string', text: s, line });
      i = j + 1;
    } else if ('{}[]<>:,;'.includes(c)) {
      out.push({ kind: 'punct', text: c, line });
      i++;
    } else throw new Error(`line ${line}: unexpected ${JSON.stringify(c)}`);
  }
  return out;
}

const INT_RANGES: Record<string, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

/** The parse of a text-format message: field name → values (always a list), nested messages parsed likewise. */
export type TextMessage = { [field: string]: Array<string | number | boolean | TextMessage> };

class Parser {
  private pos = 0;
  readonly errors: string[] = [];

  constructor(private readonly tokens: Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private take(): Token {
    const t = this.tokens[this.pos++];
    if (!t) throw new Error('unexpected end of input');
    return t;
  }

  /** Parses fields until `end` (a closing punctuation, or undefined for the end of input). */
  message(type: protobuf.Type, where: string, end: string | undefined): TextMessage {
    const out: TextMessage = {};
    const oneofSeen = new Map<string, string>();
    for (;;) {
      const t = this.peek();
      if (t === undefined) {
        if (end !== undefined) throw new Error(`${where}: "${end}" missing at end of input`);
        return out;
      }
      if (t.kind === 'punct' && t.text === end) {
        this.pos++;
        return out;
      }
      const nameTok = this.take();
      if (nameTok.kind !== 'ident') throw new Error(`line ${nameTok.line}: expected a field name, got "${nameTok.text}"`);
      const field = type.fields[nameTok.text];
      if (!field)
        throw new Error(`line ${nameTok.line}: ${where}: message type "${type.fullName.slice(1)}" has no field named "${nameTok.text}"`);
      const fwhere = where ? `${where}.${field.name}` : field.name;
      const isMessage = field.map || field.resolvedType instanceof protobuf.Type;
      const colon = this.peek()?.kind === 'punct' && this.peek()!.text === ':';
      if (colon) this.pos++;
      else if (!isMessage) throw new Error(`line ${nameTok.line}: ${fwhere}: expected ":" after a scalar field name`);
      const values: Array<string | number | boolean | TextMessage> = [];
      const next = this.peek();
      if (next?.kind === 'punct' && next.text === '[') {
        if (!field.repeated && !field.map)
          throw new Error(`line ${next.line}: ${fwhere}: a list is given for a field that is not repeated`);
        this.pos++;
        if (!(this.peek()?.kind === 'punct' && this.peek()!.text === ']')) {
          for (;;) {
            values.push(this.value(field, fwhere));
            const sep = this.take();
            if (sep.kind === 'punct' && sep.text === ']') break;
            if (!(sep.kind === 'punct' && sep.text === ','))
              throw new Error(`line ${sep.line}: ${fwhere}: expected "," or "]", got "${sep.text}"`);
          }
        } else this.pos++;
      } else values.push(this.value(field, fwhere));
      const sep = this.peek();
      if (sep?.kind === 'punct' && (sep.text === ',' || sep.text === ';')) this.pos++;
      if (!field.repeated && !field.map && out[field.name] !== undefined) {
        throw new Error(`line ${nameTok.line}: ${fwhere}: non-repeated field "${field.name}" is specified multiple times`);
      }
      if (field.partOf) {
        const other = oneofSeen.get(field.partOf.name);
        if (other !== undefined && other !== field.name)
          throw new Error(
            `line ${nameTok.line}: ${fwhere}: field "${field.name}" is in oneof "${field.partOf.name}" ` +
              `with "${other}", which is already set`,
          );
        oneofSeen.set(field.partOf.name, field.name);
      }
      out[field.name] = [...(out[field.name] ?? []), ...values];
    }
  }

  private value(field: protobuf.Field, where: string): string | number | boolean | TextMessage {
    if (field.map) {
      const mf = field as unknown as protobuf.MapField;
      const entry = new protobuf.Type(`${field.name}Entry`)
        .add(new protobuf.Field('key', 1, mf.keyType))
        .add(new protobuf.Field('value', 2, mf.type));
      // resolve the value type against the field's own scope
      entry.fields.value.resolvedType = mf.resolvedType;
      return this.nested(entry, where);
    }
    if (field.resolvedType instanceof protobuf.Type) return this.nested(field.resolvedType, where);
    const t = this.take();
    if (field.resolvedType instanceof protobuf.Enum) {
      const e = field.resolvedType;
      if (t.kind === 'ident') {
        if (e.values[t.text] === undefined)
          throw new Error(
            `line ${t.line}: ${where}: unknown enumeration value of "${t.text}" for field "${field.name}" ` +
              `(${e.name}: ${Object.keys(e.values).join(', ')})`,
          );
        return t.text;
      }
      if (t.kind === 'number' && /^-?[0-9]+$/.test(t.text)) {
        if (!Object.values(e.values).includes(Number(t.text)))
          throw new Error(`line ${t.line}: ${where}: unknown enumeration value of "${t.text}" for field "${field.name}"`);
        return Number(t.text);
      }
      throw new Error(`line ${t.line}: ${where}: expected an enum value, got "${t.text}"`);
    }
    switch (field.type) {
      case 'string':
      case 'bytes':
        if (t.kind !== 'string') throw new Error(`line ${t.line}: ${where}: expected a string, got "${t.text}"`);
        return t.text;
      case 'bool':
        if (['true', 't', '1', 'True'].includes(t.text)) return true;
        if (['false', 'f', '0', 'False'].includes(t.text)) return false;
        throw new Error(`line ${t.line}: ${where}: invalid value for boolean field "${field.name}": "${t.text}"`);
      case 'float':
      case 'double':
        if (t.kind === 'number' || (t.kind === 'ident' && /^-?(inf|infinity|nan)$/i.test(t.text)))
          return Number(t.text.replace(/[fF]$/, ''));
        throw new Error(`line ${t.line}: ${where}: expected a number, got "${t.text}"`);
      default: {
        const range = INT_RANGES[field.type];
        if (!range) throw new Error(`${where}: unsupported field type ${field.type}`);
        if (t.kind !== 'number' || !/^[-+]?(?:0[xX][0-9a-fA-F]+|[0-9]+)$/.test(t.text))
          throw new Error(`line ${t.line}: ${where}: expected an integer, got "${t.text}"`);
        const neg = t.text.startsWith('-');
        const n = BigInt(t.text.replace(/^[-+]/, '')) * (neg ? -1n : 1n);
        if (n < range[0] || n > range[1]) throw new Error(`line ${t.line}: ${where}: integer out of range for ${field.type}: ${t.text}`);
        return Number(n);
      }
    }
  }

  private nested(type: protobuf.Type, where: string): TextMessage {
    const open = this.take();
    if (open.kind !== 'punct' || (open.text !== '{' && open.text !== '<'))
      throw new Error(`line ${open.line}: ${where}: expected "{", got "${open.text}"`);
    return this.message(type, where, open.text === '{' ? '}' : '>');
  }
}

/** Parses `text` as `inference.ModelConfig`; throws with the line and field of the first problem. */
export function parseModelConfig(text: string): TextMessage {
  const type = modelConfigSchema();
  if (!type) throw new Error(`${MODEL_CONFIG_PROTO} is absent`);
  return new Parser(tokenize(text)).message(type, '', undefined);
}

/** `[]` when Triton would read `text`, else the problem. */
export function modelConfigErrors(text: string): string[] {
  try {
    parseModelConfig(text);
    return [];
  } catch (e) {
    return [(e as Error).message];
  }
}
