import { parseYamlDocument, readJsonDocument } from './document';
import { FleetValidationError } from './errors';
import { InputFileError, readInputFile } from './input-file';
import type { Fleet } from './types';
import { checkFleet, validateFleet } from './validate';

export { parseFleetDocument, YAML_MAX_ALIAS_COUNT } from './document';

/**
 * Parses and validates a fleet file's text (YAML or JSON); returns the fleet with defaults resolved.
 * Throws FleetValidationError listing every problem at once.
 */
export function parseFleet(text: string, source = 'fleet'): Fleet {
  const json = readJsonDocument(text, source);
  if (!json) {
    const { fleet, problems } = validateFleet(parseYamlDocument(text, source));
    if (!fleet) throw new FleetValidationError(source, problems);
    return fleet;
  }
  // JSON: validated first, which counts the keys of every mapping of a valid fleet; the duplicate-key check
  // then needs only the text's colons (a fleet that is not valid gets the full check), and a duplicate key
  // is still the problem reported, before any validation problem
  const { fleet, problems, keysRead } = checkFleet(json.value);
  json.checkDuplicateKeys(fleet ? keysRead : undefined);
  if (!fleet) throw new FleetValidationError(source, problems);
  return fleet;
}

/**
 * Reads, parses and validates a fleet file through the bounded reader (`readInputFile`: a regular file of at
 * most 16 MiB of UTF-8 text, refused before reading otherwise); a file it refuses is a FleetValidationError
 * too, with one problem naming the file and why (`fleet file "x.yaml": is a directory, expected a file`).
 */
export function loadFleetFile(path: string): Fleet {
  let text: string;
  try {
    text = readInputFile(path, { what: 'fleet file' });
  } catch (e) {
    if (e instanceof InputFileError) throw new FleetValidationError(path, e.problems);
    throw e;
  }
  return parseFleet(text, path);
}
