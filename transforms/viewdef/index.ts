export { type CompileOptions, compileView } from './compile.ts';
export { ViewDefinitionError, ViewEvaluationError } from './errors.ts';
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
