/**
 * Thrown by `loadConfig` when one or more environment variables are wrong.
 *
 * Contract: the message lists every bad variable, one per line, each naming the variable, saying
 * what is wrong and what is accepted, so an operator fixes all of them in one go. It never holds
 * the value of a secret variable (`DATABASE_URL`, `CERTKEEPER_MASTER_KEY`). `problems` carries
 * the same facts for programs (the CLI's `--json` output, tests).
 */
export interface ConfigProblem {
  /** The environment variable, e.g. `CERTKEEPER_PORT`. */
  variable: string;
  /** What is wrong and what is accepted, without the variable name. */
  message: string;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => `  - ${p.variable}: ${p.message}`);
    const noun = problems.length === 1 ? 'variable is' : 'variables are';
    super(`Invalid configuration: ${problems.length} environment ${noun} wrong:\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
