import { BAIL, clear, type EvaluationEnv, type Expression, truncate } from '../fhirpath/expression.ts';
import { compileFast } from '../fhirpath/fast-compile.ts';
import { type ConstantValue, compileWithFhirpathJs } from '../fhirpath/fhirpath-js.ts';
import { typePathOf } from '../fhirpath/infer-type.ts';
import { type FastNode, parseFastSubset } from '../fhirpath/parse.ts';
import { ViewDefinitionError, ViewEvaluationError } from './errors.ts';
import { ansiTypeTag, parseAnsiType } from './ansi-type.ts';
import type { ColumnDefinition, CompiledView, SelectNode, ViewColumn, ViewDefinition } from './types.ts';

export interface CompileOptions {
  /** 'fast' (default): closures for the common FHIRPath subset, fhirpath.js for the rest. */
  engine?: 'fast' | 'fhirpath';
  /**
   * Called, on the fast engine, for every expression that will always run on
   * fhirpath.js (outside the fast subset), e.g. to report or test coverage.
   */
  onFallback?: (fallback: FastPathFallback) => void;
  /**
   * Called, on the fast engine, each time a fast expression bails on a value it
   * cannot handle exactly and fhirpath.js evaluates it instead (diagnostics only).
   */
  onBail?: (path: string, expression: string) => void;
}

/** An expression of a view the fast engine does not compile. */
export interface FastPathFallback {
  /** Where it is in the definition: `select[1].column[2].path`, `where[0].path`, `select[0].forEach`. */
  path: string;
  expression: string;
  reason: string;
}

/** The expressions of `def` that run on fhirpath.js under the fast engine (empty when all are fast). */
export function fastPathFallbacks(def: ViewDefinition): FastPathFallback[] {
  const fallbacks: FastPathFallback[] = [];
  compileView(def, { engine: 'fast', onFallback: (f) => fallbacks.push(f) });
  return fallbacks;
}

/**
 * Compiles a validated ViewDefinition to a row emitter. Every expression is
 * compiled once here; emit() only evaluates.
 * @see SQL on FHIR v2, functional-model.md, "Processing Algorithm"
 */
export function compileView(def: ViewDefinition, options: CompileOptions = {}): CompiledView {
  const compiler = new ViewCompiler(def, options.engine ?? 'fast', options.onFallback, options.onBail);
  const root = compiler.body({ select: def.select }, ROOT_SCOPE(def.resource), '');
  const where = (def.where ?? []).map((clause, i) => ({
    text: clause.path,
    expression: compiler.expression(clause.path, ROOT_SCOPE(def.resource), `where[${i}].path`).evaluate,
  }));
  const name = def.name ?? (typeof def.id === 'string' ? def.id : def.resource.toLowerCase());
  const env: EvaluationEnv = { resource: {}, rowIndex: 0 };
  const scratch: unknown[] = [];
  return {
    name,
    resource: def.resource,
    columns: compiler.columns,
    definition: def,
    emit(resource) {
      if (resource.resourceType !== def.resource) return [];
      env.resource = resource;
      env.rowIndex = 0;
      for (const clause of where) {
        clear(scratch);
        clause.expression(resource, env, scratch);
        if (scratch.length === 0) return [];
        if (scratch.length !== 1 || typeof scratch[0] !== 'boolean') {
          throw new ViewEvaluationError(
            'where path must evaluate to a boolean',
            evaluationContext(name, clause.text, resource),
          );
        }
        if (!scratch[0]) return [];
      }
      return root(resource, env);
    },
  };
}

/** Rows of one select node for one focus, each holding that node's columns. */
type SelectEmitter = (focus: unknown, env: EvaluationEnv) => unknown[][];

/**
 * What is known about the focus of expressions at one point of the view.
 * `base` is what fhirpath.js needs for raw elements (undefined at the resource
 * and for fhirpath.js results, which carry their own type); `typePath` is the
 * statically known type, for the fast engine and column types.
 */
interface Scope {
  base: string | undefined;
  typePath: string | undefined;
}

const ROOT_SCOPE = (resource: string): Scope => ({ base: undefined, typePath: resource });

interface CompiledExpression {
  evaluate: Expression;
  node: FastNode | undefined;
}

class ViewCompiler {
  readonly columns: ViewColumn[] = [];
  private readonly constants = new Map<string, ConstantValue>();
  private readonly fastConstants = new Map<string, string | number | boolean>();
  private readonly name: string;

  constructor(
    def: ViewDefinition,
    private readonly engine: 'fast' | 'fhirpath',
    private readonly onFallback: ((fallback: FastPathFallback) => void) | undefined,
    private readonly onBail: ((path: string, expression: string) => void) | undefined,
  ) {
    this.name = def.name ?? (typeof def.id === 'string' ? def.id : '(unnamed)');
    for (const constant of def.constant ?? []) {
      const key = Object.keys(constant).find((k) => k.startsWith('value')) as string;
      const type = key.charAt(5).toLowerCase() + key.slice(6);
      const value = constant[key] as string | number | boolean;
      this.constants.set(constant.name, { value, type });
      if (!['date', 'dateTime', 'instant', 'time'].includes(type))
        this.fastConstants.set(constant.name, value);
    }
  }

  /** The rows of a select node's own content for one focus (no iteration). */
  body(node: SelectNode, scope: Scope, path: string): SelectEmitter {
    const prefix = path === '' ? '' : `${path}.`;
    const columns = (node.column ?? []).map((column, i) =>
      this.column(column, scope, `${prefix}column[${i}]`),
    );
    const parts: SelectEmitter[] = [];
    if (columns.length > 0) parts.push(columnRow(columns));
    (node.select ?? []).forEach((child, i) => {
      parts.push(this.select(child, scope, `${prefix}select[${i}]`));
    });
    if (node.unionAll !== undefined) {
      const branches = node.unionAll.map((branch, i) => {
        // Each branch declares the same columns; keep the first branch's.
        const before = this.columns.length;
        const emitter = this.select(branch, scope, `${prefix}unionAll[${i}]`);
        if (i > 0) this.columns.length = before;
        return emitter;
      });
      parts.push(unionAll(branches));
    }
    return product(parts);
  }

  /** A select node: its iteration (forEach, forEachOrNull, repeat) around its body. */
  private select(node: SelectNode, scope: Scope, path: string): SelectEmitter {
    const iteration = node.forEach ?? node.forEachOrNull;
    if (iteration !== undefined) {
      const key = node.forEach !== undefined ? 'forEach' : 'forEachOrNull';
      const { evaluate, childScope } = this.iteration(iteration, scope, `${path}.${key}`);
      const body = this.body(node, childScope, path);
      return iterate(
        (focus, env, out) => evaluate(focus, env, out),
        body,
        node.forEachOrNull !== undefined,
        this.width(node),
      );
    }
    if (node.repeat !== undefined) {
      node.repeat.forEach((p, i) => {
        this.fallback(`${path}.repeat[${i}]`, p, 'repeat runs on fhirpath.js');
      });
      const first = node.repeat.map((p, i) => this.fhirpathJs(p, scope.base, `${path}.repeat[${i}]`));
      const deeper = node.repeat.map((p, i) => this.fhirpathJs(p, undefined, `${path}.repeat[${i}]`));
      const body = this.body(node, { base: undefined, typePath: undefined }, path);
      return iterate(repeatAll(first, deeper), body, false, 0);
    }
    const body = this.body(node, scope, path);
    return (focus, env) => {
      const saved = env.rowIndex;
      const rows = body(focus, env);
      env.rowIndex = saved;
      return rows;
    };
  }

  private width(node: SelectNode): number {
    const count = (n: SelectNode): number =>
      (n.column?.length ?? 0) +
      (n.select ?? []).reduce((s, c) => s + count(c), 0) +
      (n.unionAll?.[0] ? count(n.unionAll[0]) : 0);
    return count(node);
  }

  /**
   * A forEach expression. The fast engine iterates raw elements when it knows their
   * type (so fallbacks inside can pass it to fhirpath.js as `base`); otherwise the
   * iteration runs on fhirpath.js, whose results carry their type.
   */
  private iteration(text: string, scope: Scope, path: string): { evaluate: Expression; childScope: Scope } {
    const compiled = this.expression(text, scope, path);
    const typePath = typePathOf(compiled.node, scope.typePath);
    if (
      this.engine === 'fast' &&
      compiled.node !== undefined &&
      typePath !== undefined &&
      /^[A-Z]/.test(typePath)
    ) {
      return { evaluate: compiled.evaluate, childScope: { base: typePath, typePath } };
    }
    if (compiled.node !== undefined)
      this.fallback(path, text, `element type ${typePath ?? '(unknown)'} is not statically known`);
    return { evaluate: this.fhirpathJs(text, scope.base, path), childScope: { base: undefined, typePath } };
  }

  private column(column: ColumnDefinition, scope: Scope, path: string): CompiledColumn {
    const compiled = this.expression(column.path, scope, `${path}.path`);
    const inferred = typePathOf(compiled.node ?? parseFastSubset(column.path), scope.typePath);
    const type = column.type ?? (inferred !== undefined && /^[a-z]/.test(inferred) ? inferred : undefined);
    const collection = column.collection === true;
    const viewColumn: ViewColumn = { name: column.name, collection };
    if (type !== undefined) viewColumn.type = type;
    if (column.description !== undefined) viewColumn.description = column.description;
    const ansiType = parseAnsiType(ansiTypeTag(column.tag) ?? '');
    if (ansiType !== undefined) viewColumn.ansiType = ansiType;
    this.columns.push(viewColumn);
    return { evaluate: compiled.evaluate, collection, text: column.path, view: this.name };
  }

  /** An expression on the chosen engine, with per-evaluation fallback from fast to fhirpath.js. */
  expression(text: string, scope: Scope, path: string): CompiledExpression {
    const node = parseFastSubset(text);
    const fast =
      this.engine === 'fast' && node !== undefined ? compileFast(node, this.fastConstants) : undefined;
    if (fast === undefined) {
      this.fallback(path, text, node === undefined ? 'outside the fast FHIRPath subset' : 'not compilable');
      return {
        evaluate: this.fhirpathJs(text, scope.base, path),
        node: this.engine === 'fast' ? undefined : node,
      };
    }
    const view = this.name;
    const onBail = this.onBail;
    // fhirpath.js runs only when the fast expression bails, which most never do:
    // compiled then, once, so starting a command does not pay for it.
    let slow: Expression | undefined;
    const compileSlow = (): Expression => this.fhirpathJs(text, scope.base, path);
    const evaluate: Expression = (focus, env, out) => {
      const mark = out.length;
      try {
        fast(focus, env, out);
      } catch (error) {
        if (error !== BAIL) throw wrapError(error, view, text, env);
        truncate(out, mark);
        onBail?.(path, text);
        slow ??= compileSlow();
        slow(focus, env, out);
      }
    };
    return { evaluate, node };
  }

  private fallback(path: string, expression: string, reason: string): void {
    if (this.engine === 'fast') this.onFallback?.({ path, expression, reason });
  }

  private fhirpathJs(text: string, base: string | undefined, path: string): Expression {
    let compiled: Expression;
    try {
      compiled = compileWithFhirpathJs(text, { constants: this.constants, base });
    } catch (error) {
      throw new ViewDefinitionError(
        `invalid FHIRPath '${text}': ${String(error)}`,
        { view: this.name, path },
        error,
      );
    }
    const view = this.name;
    return (focus, env, out) => {
      try {
        compiled(focus, env, out);
      } catch (error) {
        throw wrapError(error, view, text, env);
      }
    };
  }
}

interface CompiledColumn {
  evaluate: Expression;
  collection: boolean;
  text: string;
  view: string;
}

/** One row with a select node's own columns. @see functional-model.md, "column" */
function columnRow(columns: CompiledColumn[]): SelectEmitter {
  const scratch: unknown[] = [];
  return (focus, env) => {
    const row = new Array<unknown>(columns.length);
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i] as CompiledColumn;
      clear(scratch);
      column.evaluate(focus, env, scratch);
      if (column.collection) row[i] = scratch.slice();
      else if (scratch.length === 0) row[i] = null;
      else if (scratch.length === 1) row[i] = scratch[0];
      else {
        throw new ViewEvaluationError(
          `column '${column.text}' yielded ${scratch.length} values; set collection: true or narrow the path`,
          evaluationContext(column.view, column.text, env.resource),
        );
      }
    }
    return [row];
  };
}

/** Cartesian product of the parts' rows, concatenating columns. @see functional-model.md, "select" */
function product(parts: SelectEmitter[]): SelectEmitter {
  if (parts.length === 1) return parts[0] as SelectEmitter;
  return (focus, env) => {
    let rows: unknown[][] | undefined;
    for (const part of parts) {
      const saved = env.rowIndex;
      const partRows = part(focus, env);
      env.rowIndex = saved;
      if (partRows.length === 0) return [];
      // The first part's rows are fresh arrays: take them as they are.
      if (rows === undefined) {
        rows = partRows;
        continue;
      }
      if (rows.length === 1 && partRows.length === 1) {
        rows = [(rows[0] as unknown[]).concat(partRows[0])];
        continue;
      }
      const next: unknown[][] = [];
      for (const left of rows) for (const right of partRows) next.push(left.concat(right));
      rows = next;
    }
    return rows ?? [[]];
  };
}

/** unionAll: the rows of every branch, in order. @see functional-model.md, "unionAll" */
function unionAll(branches: SelectEmitter[]): SelectEmitter {
  return (focus, env) => {
    const rows: unknown[][] = [];
    for (const branch of branches) {
      const saved = env.rowIndex;
      for (const row of branch(focus, env)) rows.push(row);
      env.rowIndex = saved;
    }
    return rows;
  };
}

/**
 * forEach / forEachOrNull / repeat: the body once per element, with %rowIndex the
 * element's position. forEachOrNull on an empty collection yields one row
 * evaluated on an empty focus (%rowIndex 0), or all nulls if that yields nothing.
 * @see StructureDefinition-ViewDefinition-notes, "forEach", "forEachOrNull", "%rowIndex"
 */
function iterate(elements: Expression, body: SelectEmitter, orNull: boolean, width: number): SelectEmitter {
  // Reused: an iteration is never re-entered while its items are in use (bodies are other emitters).
  const items: unknown[] = [];
  return (focus, env) => {
    const saved = env.rowIndex;
    clear(items);
    if (focus !== undefined) elements(focus, env, items);
    let rows: unknown[][];
    if (items.length === 0) {
      if (!orNull) return [];
      env.rowIndex = 0;
      rows = body(undefined, env);
      if (rows.length === 0) rows = [new Array<unknown>(width).fill(null)];
    } else if (items.length === 1) {
      env.rowIndex = 0;
      rows = body(items[0], env);
    } else {
      rows = [];
      for (let i = 0; i < items.length; i++) {
        env.rowIndex = i;
        const itemRows = body(items[i], env);
        for (let j = 0; j < itemRows.length; j++) rows.push(itemRows[j] as unknown[]);
      }
    }
    clear(items);
    env.rowIndex = saved;
    return rows;
  };
}

/** repeat: depth-first pre-order over every path, recursively. @see StructureDefinition-ViewDefinition-notes, "repeat" */
function repeatAll(first: Expression[], deeper: Expression[]): Expression {
  const visit = (item: unknown, env: EvaluationEnv, out: unknown[], paths: Expression[]): void => {
    for (const path of paths) {
      const children: unknown[] = [];
      path(item, env, children);
      for (const child of children) {
        out.push(child);
        visit(child, env, out, deeper);
      }
    }
  };
  return (focus, env, out) => visit(focus, env, out, first);
}

function wrapError(error: unknown, view: string, expression: string, env: EvaluationEnv): unknown {
  if (error instanceof ViewEvaluationError || error instanceof ViewDefinitionError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ViewEvaluationError(message, evaluationContext(view, expression, env.resource), error);
}

function evaluationContext(view: string, expression: string, resource: Record<string, unknown>) {
  return { view, expression, resourceType: resource.resourceType, resourceId: resource.id };
}
