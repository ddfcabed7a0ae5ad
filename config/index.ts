export * from './errors.ts';
export { DEFAULT_CONFIG_FILE, formatPath, type LoadedConfig, loadConfig, parseConfigText } from './load.ts';
export * from './schema.ts';
