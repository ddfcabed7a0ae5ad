export * from './ndjson/index.ts';
export * from './viewdef/index.ts';
