export { ensureMarts, martStatements, type SkippedMart } from './ensure-marts.ts';
export { MartBlockedError } from './errors.ts';
export { ANALYTICS_SCHEMA, type Mart } from './mart.ts';
export { MARTS } from './marts/index.ts';
