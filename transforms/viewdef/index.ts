export { ANSI_TYPE_TAG, type AnsiType, parseAnsiType } from './ansi-type.ts';
export { type CompileOptions, compileView } from './compile.ts';
export { ViewDefinitionError, ViewEvaluationError } from './errors.ts';
export {
  readSuiteFile,
  runSuiteCase,
  runSuiteFile,
  type SuiteCase,
  type SuiteCaseResult,
  type SuiteEngine,
  type SuiteFile,
  suiteFiles,
} from './test-suite.ts';
export type {
  ColumnDefinition,
  CompiledView,
  SelectNode,
  ViewColumn,
  ViewConstant,
  ViewDefinition,
  WhereClause,
} from './types.ts';
export { parseViewDefinition } from './validate.ts';
export { loadViewDefinitions, loadViewFiles, type ViewFile, ViewsDirError, viewName } from './views-dir.ts';
