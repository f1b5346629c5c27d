import * as fs from 'fs';
import { parseDocument } from 'yaml';
import { FleetValidationError } from './errors';
import { findDuplicateKey } from './json-keys';
import type { Fleet } from './types';
import { validateFleet } from './validate';

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

/**
 * Reads a fleet document (YAML, or JSON, which YAML includes) without validating it. A syntax error
 * raises a FleetValidationError with one problem naming the line and column.
 *
 * JSON text (a document starting with `{`) is read with `JSON.parse`, about 100x faster than the
 * YAML parser on a large fleet, after which one linear scan rejects duplicate keys (which
 * `JSON.parse` would silently resolve to the last); text that is not valid JSON goes to the YAML
 * parser, which accepts it if it is YAML or reports the syntax error where it is.
 */
export function parseFleetDocument(text: string, source = 'fleet'): unknown {
  const first = text.search(/\S/);
  if (first >= 0 && text.charCodeAt(first) === 123 /* { */) {
    let value: unknown;
    let json = true;
    try {
      value = JSON.parse(text);
    } catch {
      json = false;
    }
    if (json) {
      const dup = findDuplicateKey(text);
      if (dup) {
        const at = lineColumn(text, dup.offset);
        const was = lineColumn(text, dup.firstOffset);
        throw new FleetValidationError(source, [
          `${source}:${at.line}:${at.column}: ${dup.path}: duplicate key (first at line ${was.line}, column ${was.column}); keys must be unique`,
        ]);
      }
      return value;
    }
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const { line, column } = lineColumn(text, e.pos[0]);
    throw new FleetValidationError(source, [
      `${source}:${line}:${column}: YAML syntax error: ${e.message.charAt(0).toLowerCase()}${e.message.slice(1)}`,
    ]);
  }
  return doc.toJS({ maxAliasCount: 100 });
}

/**
 * Parses and validates a fleet file's text (YAML or JSON); returns the fleet with defaults resolved.
 * Throws FleetValidationError listing every problem at once.
 */
export function parseFleet(text: string, source = 'fleet'): Fleet {
  const { fleet, problems } = validateFleet(parseFleetDocument(text, source));
  if (!fleet) throw new FleetValidationError(source, problems);
  return fleet;
}

/** Reads, parses and validates a fleet file; an unreadable file is a FleetValidationError too. */
export function loadFleetFile(path: string): Fleet {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FleetValidationError(path, [`${path}: cannot read the fleet file${code ? ` (${code})` : ''}`]);
  }
  return parseFleet(text, path);
}
