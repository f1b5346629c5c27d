/**
 * Reading a YAML or JSON document (fleet files, the router's config) into plain values, with the checks every
 * input gets before validation: linear duplicate-key scans (JSON and YAML) and a YAML alias limit. Imports
 * only the yaml package and fleet files without further imports, so the router image (Dockerfile) compiles it
 * with constructs/runtime.
 */
import type * as YamlModule from 'yaml';
import { FleetValidationError } from './errors';
import { findDuplicateKey, hasDuplicateKey, textMayHaveMoreKeys } from './json-keys';
import type * as YamlKeys from './yaml-keys';

/** 1-based line and column of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const end = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: end - start + 1 };
}

/** A JSON document read with `JSON.parse`, whose duplicate-key check is still to be made (`readJsonDocument`). */
export interface JsonDocument {
  readonly value: unknown;
  /**
   * Throws the FleetValidationError naming the first duplicate key, if the text has one. `keysCounted`, when
   * given, is a number of own keys of distinct objects of `value` (each object counted once, as fleet validation
   * counts the objects it reads): when the text has no more colons than that, no key is written twice and the
   * check needs no pass over the parsed value (json-keys.ts, `hasDuplicateKey`).
   */
  checkDuplicateKeys(keysCounted?: number): void;
}

/**
 * The document of a text that is JSON (starts with `{` and `JSON.parse` reads it), else undefined (YAML, or a
 * syntax error the YAML parser will name). `parseFleetDocument` checks its keys at once; `parseFleet` after
 * validation, which counts the keys it reads and so spares the check a walk over a large fleet's objects.
 */
export function readJsonDocument(text: string, source: string): JsonDocument | undefined {
  const first = text.search(/\S/);
  if (first < 0 || text.charCodeAt(first) !== 123 /* { */) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return {
    value,
    checkDuplicateKeys: (keysCounted?: number): void => {
      if (keysCounted !== undefined && !textMayHaveMoreKeys(text, keysCounted)) return;
      const dup = hasDuplicateKey(text, value) ? findDuplicateKey(text) : undefined;
      if (!dup) return;
      const at = lineColumn(text, dup.offset);
      const was = lineColumn(text, dup.firstOffset);
      throw new FleetValidationError(source, [
        `${source}:${at.line}:${at.column}: ${dup.path}: ` +
          `duplicate key (first at line ${was.line}, column ${was.column}); keys must be unique`,
      ]);
    },
  };
}

/**
 * Reads a fleet document (YAML, or JSON, which YAML includes) without validating it. A syntax error
 * raises a FleetValidationError with one problem naming the line and column.
 *
 * JSON text (a document starting with `{`) is read with `JSON.parse`, about 100x faster than the
 * YAML parser on a large fleet (which is then never loaded), after which a linear count rejects duplicate
 * keys (which `JSON.parse` would silently resolve to the last; json-keys.ts); text that is not valid JSON goes to the YAML
 * parser, which accepts it if it is YAML or reports the syntax error where it is.
 */
export function parseFleetDocument(text: string, source = 'fleet'): unknown {
  const json = readJsonDocument(text, source);
  if (json) {
    json.checkDuplicateKeys();
    return json.value;
  }
  return parseYamlDocument(text, source);
}

/** A document `readJsonDocument` did not read, with the YAML parser (`parseFleetDocument`'s YAML half). */
export function parseYamlDocument(text: string, source: string): unknown {
  // the yaml package's own unique-key check is quadratic in the keys of a mapping: ours (yaml-keys.ts) is linear;
  // loaded here, on the first YAML document, so that a JSON fleet never loads it
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseDocument } = require('yaml') as typeof YamlModule;
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const { line, column } = lineColumn(text, e.pos[0]);
    throw new FleetValidationError(source, [
      `${source}:${line}:${column}: YAML syntax error: ${e.message.charAt(0).toLowerCase()}${e.message.slice(1)}`,
    ]);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { findYamlDuplicateKey } = require('./yaml-keys') as typeof YamlKeys;
  const dup = findYamlDuplicateKey(doc);
  if (dup) {
    const at = lineColumn(text, dup.offset);
    const was = lineColumn(text, dup.firstOffset);
    throw new FleetValidationError(source, [
      `${source}:${at.line}:${at.column}: ${dup.path}: ` +
        `duplicate key (first at line ${was.line}, column ${was.column}); keys must be unique`,
    ]);
  }
  try {
    return doc.toJS({ maxAliasCount: YAML_MAX_ALIAS_COUNT });
  } catch (e) {
    // the yaml package refuses an alias expansion over the limit (a "billion laughs" document) with a
    // ReferenceError (yaml 2.x nodes/Alias.js); any other failure to build the values is bad input too
    const message = e instanceof Error ? e.message : String(e);
    if (/alias/i.test(message)) {
      throw new FleetValidationError(source, [
        `${source}: YAML aliases: the document expands its aliases more than ${YAML_MAX_ALIAS_COUNT} times ` +
          '(each use of an anchor counts the aliases inside it); write the values out instead',
      ]);
    }
    throw new FleetValidationError(source, [`${source}: cannot read the YAML document: ${message.split('\n')[0].slice(0, 200)}`]);
  }
}

/**
 * Most alias expansions a YAML fleet may make (the yaml package's `maxAliasCount`, its default): each use
 * of an anchor counts the aliases nested in the anchored value, so a document that doubles its size with
 * each level of aliases (a "billion laughs" document) is refused after a few levels instead of filling memory.
 */
export const YAML_MAX_ALIAS_COUNT = 100;
