/**
 * The one order gpufleet sorts names and keys in: UTF-16 code units, the same on every machine. `localeCompare`
 * follows the user's locale (`LANG`): under `da_DK` it sorts "aa-…" after "z-…", so a plan, a rendering or a
 * check's findings would depend on who ran it.
 */

/** Code-unit order of two strings, for `Array.prototype.sort` (locale-independent). */
export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
