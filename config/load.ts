import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type ConfigProblem, ConfigError } from './errors.ts';
import { type Config, configSchema } from './schema.ts';

/** The config file read when `--config` is not given (its absence is not an error). */
export const DEFAULT_CONFIG_FILE = 'fhir-etl.config.yaml';

export interface LoadedConfig extends Config {
  /** The file it came from, or undefined for the built-in empty config. */
  file: string | undefined;
}

/**
 * Reads, substitutes and validates a config file. `${NAME}` takes the environment variable
 * NAME (`${NAME:-default}` a default when unset); `$${` writes a literal `${`. Relative paths
 * (views, key files, landing folders) are resolved against the file's folder. Every problem is
 * reported at once, by path, before anything runs.
 */
export async function loadConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedConfig> {
  if (file === undefined) {
    // Only its absence means "no config": a default file that is there but unreadable (EACCES,
    // a folder, ...) must not quietly become a run with no sources.
    const text = await readConfigFile(DEFAULT_CONFIG_FILE, { missingOk: true });
    if (text === undefined) return { ...configSchema.parse({}), file: undefined };
    return parseConfigText(text, DEFAULT_CONFIG_FILE, env);
  }
  const text = await readConfigFile(file, { missingOk: false });
  return parseConfigText(text, file, env);
}

async function readConfigFile(file: string, options: { missingOk: true }): Promise<string | undefined>;
async function readConfigFile(file: string, options: { missingOk: false }): Promise<string>;
async function readConfigFile(file: string, options: { missingOk: boolean }): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const cause = error as NodeJS.ErrnoException;
    if (cause.code === 'ENOENT' && options.missingOk) return undefined;
    const why = cause.code === 'ENOENT' ? 'no such file' : cause.message;
    throw new ConfigError(file, [{ path: '', message: `cannot read the file: ${why}` }], cause);
  }
}

/** Parses config text (YAML is a superset of JSON, so one parser reads both). */
export function parseConfigText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): LoadedConfig {
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true });
  } catch (cause) {
    throw new ConfigError(
      file,
      [{ path: '', message: `not valid YAML or JSON: ${(cause as Error).message}` }],
      cause,
    );
  }
  const problems: ConfigProblem[] = [];
  const substituted = substitute(document ?? {}, env, [], problems);
  const parsed = configSchema.safeParse(substituted);
  // A value left empty by a missing variable is reported once, as the missing variable.
  const reported = new Set(problems.map((p) => p.path));
  if (!parsed.success)
    problems.push(...parsed.error.issues.map(toProblem).filter((p) => !reported.has(p.path)));
  if (problems.length > 0 || !parsed.success) throw new ConfigError(file, problems);
  return { ...resolvePaths(parsed.data, dirname(resolve(file))), file };
}

function substitute(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: PropertyKey[],
  problems: ConfigProblem[],
): unknown {
  if (typeof value === 'string') return substituteString(value, env, path, problems);
  if (Array.isArray(value)) return value.map((item, i) => substitute(item, env, [...path, i], problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, substitute(item, env, [...path, key], problems)]),
    );
  }
  return value;
}

function substituteString(
  text: string,
  env: NodeJS.ProcessEnv,
  path: PropertyKey[],
  problems: ConfigProblem[],
) {
  return text.replace(
    /\$?\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
    (match, name: string, fallback?: string) => {
      if (match.startsWith('$$')) return match.slice(1);
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      problems.push({ path: formatPath(path), message: `environment variable ${name} is not set` });
      return '';
    },
  );
}

function toProblem(issue: z.core.$ZodIssue): ConfigProblem {
  return { path: formatPath(issue.path), message: issue.message };
}

/** ['sources', 1, 'auth', 'tokenUrl'] -> sources[1].auth.tokenUrl */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('');
}

function resolvePaths(config: Config, base: string): Config {
  const at = (path: string) => (isAbsolute(path) ? path : resolve(base, path));
  return {
    ...config,
    views: config.views.map(at),
    secrets: { ...config.secrets, keyFile: config.secrets.keyFile && at(config.secrets.keyFile) },
    sources: config.sources.map((source) => {
      if (source.kind === 'files') return { ...source, path: at(source.path) };
      if (source.kind === 'payer-exchange') {
        const members =
          'file' in source.members ? { ...source.members, file: at(source.members.file) } : source.members;
        const auth =
          source.auth.type === 'backend_services'
            ? { ...source.auth, privateKeyFile: at(source.auth.privateKeyFile) }
            : source.auth;
        return { ...source, members, auth };
      }
      if (source.kind === 'bulk' && source.auth.type === 'backend_services') {
        return { ...source, auth: { ...source.auth, privateKeyFile: at(source.auth.privateKeyFile) } };
      }
      return source;
    }),
  };
}
