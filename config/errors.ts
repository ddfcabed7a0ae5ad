import { FhirEtlError } from '../errors/index.ts';

/** One thing wrong in a config file, at a path such as `sources[1].auth.tokenUrl`. */
export interface ConfigProblem {
  path: string;
  message: string;
}

/** The config file cannot be used; every problem is listed, none of the values (they may be secrets). */
export class ConfigError extends FhirEtlError {
  readonly problems: ConfigProblem[];

  constructor(file: string, problems: ConfigProblem[], cause?: unknown) {
    super(
      `config ${file} is not valid:\n${problems.map((p) => `  - ${p.path || '(top level)'}: ${p.message}`).join('\n')}`,
      { code: 'CONFIG_INVALID', context: { file, problems }, cause, kind: 'input' },
    );
    this.problems = problems;
  }
}
