// A run config that cannot be used: every problem names the file, and where it can, the line,
// column and field.
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid run config ${file}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}
