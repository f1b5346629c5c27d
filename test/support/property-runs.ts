/**
 * How many cases a property test (fast-check) runs. `npm test` runs the quick count, so the suite stays
 * within its budget on a 2-core machine; `npm run bench -- properties` (bench/properties.bench.ts) runs
 * the same files with GPUFLEET_PROPERTY_RUNS=full, i.e. the full count, and prints the figures. The
 * seeds are fixed, so the quick run checks exactly the first cases of the full one.
 */
export const FULL_PROPERTY_RUNS = process.env.GPUFLEET_PROPERTY_RUNS === 'full';

export function propertyRuns(quick: number, full: number): number {
  return FULL_PROPERTY_RUNS ? full : quick;
}

/** `1,000` for titles. */
export const count = (n: number): string => n.toLocaleString('en-US');
