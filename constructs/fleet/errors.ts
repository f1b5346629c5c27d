/** A fleet file that cannot be used; `problems` lists every reason, each naming its path and value. */
export class FleetValidationError extends Error {
  public readonly problems: string[];
  /** The file name or label the fleet came from. */
  public readonly source: string;

  constructor(source: string, problems: readonly string[]) {
    super(`${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${problems.join('\n')}`);
    this.name = 'FleetValidationError';
    this.problems = [...problems];
    this.source = source;
  }
}
