import * as fs from 'fs';
import { parseDocument } from 'yaml';
import { FleetValidationError } from './errors';
import type { Fleet } from './types';
import { validateFleet } from './validate';

/** 1-based line and column of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

/**
 * Reads a fleet document (YAML, or JSON, which YAML includes) without validating it. A syntax error
 * raises a FleetValidationError with one problem naming the line and column.
 */
export function parseFleetDocument(text: string, source = 'fleet'): unknown {
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
