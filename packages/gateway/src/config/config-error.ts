/** One thing wrong with the configuration, at a field path such as `http.port` or `ice.stun[1]` ('' for the whole). */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * An unusable configuration. The message lists every issue as `path: what is wrong`, one per line, so a single
 * run reports all of them. Messages never contain a secret: values are echoed only for fields that cannot hold one.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`)).join('\n'));
    this.issues = issues;
  }

  static at(path: string, message: string): ConfigError {
    return new ConfigError([{ path, message }]);
  }
}
