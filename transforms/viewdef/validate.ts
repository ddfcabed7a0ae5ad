import { fhirpathJs } from '../fhirpath/fhirpath-js-module.ts';
import { parseFastSubset } from '../fhirpath/parse.ts';
import { referencedVariables } from '../fhirpath/tokenize.ts';
import { ViewDefinitionError } from './errors.ts';
import { ANSI_TYPE_TAG, ANSI_TYPES, parseAnsiType } from './ansi-type.ts';
import type { ViewDefinition } from './types.ts';

/**
 * Checks that `json` is a usable ViewDefinition and returns it typed. Throws
 * ViewDefinitionError naming the view, the JSON path and the problem.
 * @see SQL on FHIR v2, StructureDefinition-ViewDefinition-notes, "Validation"
 */
export function parseViewDefinition(json: unknown, origin?: string): ViewDefinition {
  const view =
    isRecord(json) && typeof json.name === 'string'
      ? json.name
      : isRecord(json) && typeof json.id === 'string'
        ? json.id
        : '(unnamed)';
  const checker = new ViewChecker(view, origin);
  checker.view(json);
  return json as ViewDefinition;
}

/** Valid column and constant names. @see StructureDefinition-ViewDefinition-notes, "Column names" */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * The longest view (table) and column name a warehouse can hold. PostgreSQL keeps 63 bytes of
 * an identifier (NAMEDATALEN - 1) and silently cuts the rest, so two long names could become
 * one; the SQL builder the loaders use (@databases/pg) refuses anything past 60 characters.
 * Names are ASCII (NAME_PATTERN), so characters are bytes.
 */
export const MAX_NAME_LENGTH = 60;

const VIEW_KEYS = new Set([
  'resourceType',
  'id',
  'meta',
  'implicitRules',
  'language',
  'text',
  'contained',
  'extension',
  'modifierExtension',
  'url',
  'identifier',
  'version',
  'name',
  'title',
  'status',
  'experimental',
  'date',
  'publisher',
  'contact',
  'description',
  'useContext',
  'copyright',
  'resource',
  'resourceVersion',
  'fhirVersion',
  'constant',
  'select',
  'where',
  'profile',
]);
const SELECT_KEYS = new Set([
  'id',
  'extension',
  'modifierExtension',
  'column',
  'select',
  'forEach',
  'forEachOrNull',
  'repeat',
  'unionAll',
]);
const COLUMN_KEYS = new Set([
  'id',
  'extension',
  'modifierExtension',
  'name',
  'path',
  'type',
  'collection',
  'description',
  'tag',
]);
const WHERE_KEYS = new Set(['id', 'extension', 'path', 'description']);
const BUILTIN_VARIABLES = new Set([
  'rowIndex',
  'resource',
  'rootResource',
  'context',
  'ucum',
  'sct',
  'loinc',
  'factory',
  'terminologies',
]);

class ViewChecker {
  private readonly constants = new Set<string>();
  constructor(
    private readonly name: string,
    private readonly origin: string | undefined,
  ) {}

  fail(path: string, message: string, cause?: unknown): never {
    throw new ViewDefinitionError(message, { view: this.name, path, origin: this.origin }, cause);
  }

  view(json: unknown): void {
    if (!isRecord(json)) this.fail('', 'a ViewDefinition must be a JSON object');
    this.keys(json, VIEW_KEYS, '');
    if (json.resourceType !== undefined && json.resourceType !== 'ViewDefinition') {
      this.fail('resourceType', `must be 'ViewDefinition', got ${JSON.stringify(json.resourceType)}`);
    }
    if (typeof json.resource !== 'string' || !/^[A-Z][A-Za-z]+$/.test(json.resource)) {
      this.fail('resource', 'is required: the FHIR resource type the view reads (e.g. "Patient")');
    }
    this.tableName(json);
    this.constantList(json.constant);
    if (!Array.isArray(json.select) || json.select.length === 0)
      this.fail('select', 'must be a non-empty array');
    const columns = this.selects(json.select, 'select');
    this.uniqueColumns(columns);
    if (json.where !== undefined) {
      if (!Array.isArray(json.where)) this.fail('where', 'must be an array');
      json.where.forEach((clause, i) => {
        const path = `where[${i}]`;
        if (!isRecord(clause)) this.fail(path, 'must be an object with a path');
        this.keys(clause, WHERE_KEYS, path);
        this.expression(clause.path, `${path}.path`);
      });
    }
  }

  /**
   * The view's name becomes its table's name (`name`, else `id`), so it must be one PostgreSQL
   * can hold. @see StructureDefinition-ViewDefinition, invariant sql-name
   */
  private tableName(json: Record<string, unknown>): void {
    if (json.name !== undefined) {
      if (typeof json.name !== 'string' || !NAME_PATTERN.test(json.name)) {
        this.fail('name', `view name ${JSON.stringify(json.name)} must match ${NAME_PATTERN.source}`);
      }
      this.nameLength(json.name, 'name', 'view name');
    } else if (typeof json.id === 'string') {
      this.nameLength(json.id, 'id', 'view id (the table name, as the view has no name)');
    }
  }

  private nameLength(name: string, path: string, what: string): void {
    const bytes = Buffer.byteLength(name);
    if (bytes > MAX_NAME_LENGTH) {
      this.fail(
        path,
        `${what} '${name.slice(0, 20)}...' is ${bytes} characters long; a table or column name may have at most ${MAX_NAME_LENGTH} (PostgreSQL keeps 63 bytes of a name and cuts the rest)`,
      );
    }
  }

  private constantList(list: unknown): void {
    if (list === undefined) return;
    if (!Array.isArray(list)) this.fail('constant', 'must be an array');
    list.forEach((constant, i) => {
      const path = `constant[${i}]`;
      if (!isRecord(constant)) this.fail(path, 'must be an object');
      if (typeof constant.name !== 'string' || !NAME_PATTERN.test(constant.name)) {
        this.fail(`${path}.name`, `must match ${NAME_PATTERN.source}`);
      }
      const values = Object.keys(constant).filter((k) => k.startsWith('value'));
      if (values.length !== 1)
        this.fail(path, `constant '${constant.name}' must have exactly one value[x], found ${values.length}`);
      const other = Object.keys(constant).filter(
        (k) => !k.startsWith('value') && k !== 'name' && k !== 'id' && k !== 'extension',
      );
      if (other.length > 0) this.fail(`${path}.${other[0]}`, 'unknown key');
      const value = constant[values[0] as string];
      if (!['string', 'number', 'boolean'].includes(typeof value))
        this.fail(`${path}.${values[0]}`, 'must be a primitive value');
      this.constants.add(constant.name);
    });
  }

  /** Validates a list of select nodes; returns the column names they produce, in order. */
  private selects(list: unknown, path: string): string[] {
    if (!Array.isArray(list)) this.fail(path, 'must be an array');
    return list.flatMap((node, i) => this.select(node, `${path}[${i}]`));
  }

  private select(node: unknown, path: string): string[] {
    if (!isRecord(node)) this.fail(path, 'must be an object');
    this.keys(node, SELECT_KEYS, path);
    if (node.forEach !== undefined && node.forEachOrNull !== undefined) {
      this.fail(path, 'forEach and forEachOrNull cannot both be set');
    }
    if (node.forEach !== undefined) this.expression(node.forEach, `${path}.forEach`);
    if (node.forEachOrNull !== undefined) this.expression(node.forEachOrNull, `${path}.forEachOrNull`);
    if (node.repeat !== undefined) {
      if (!Array.isArray(node.repeat) || node.repeat.length === 0)
        this.fail(`${path}.repeat`, 'must be a non-empty array of FHIRPath expressions');
      node.repeat.forEach((expression, i) => {
        this.expression(expression, `${path}.repeat[${i}]`);
      });
    }
    const names: string[] = [];
    if (node.column !== undefined) {
      if (!Array.isArray(node.column)) this.fail(`${path}.column`, 'must be an array');
      node.column.forEach((column, i) => {
        names.push(this.column(column, `${path}.column[${i}]`));
      });
    }
    if (node.select !== undefined) names.push(...this.selects(node.select, `${path}.select`));
    if (node.unionAll !== undefined) names.push(...this.unionAll(node.unionAll, `${path}.unionAll`));
    if (node.column === undefined && node.select === undefined && node.unionAll === undefined) {
      this.fail(path, 'must have column, select or unionAll');
    }
    return names;
  }

  /** @see StructureDefinition-ViewDefinition-notes, "unionAll": branches must have the same columns in the same order. */
  private unionAll(list: unknown, path: string): string[] {
    if (!Array.isArray(list) || list.length === 0) this.fail(path, 'must be a non-empty array');
    const branches = list.map((node, i) => this.select(node, `${path}[${i}]`));
    const first = branches[0] as string[];
    branches.forEach((names, i) => {
      if (names.join(',') !== first.join(',')) {
        this.fail(
          `${path}[${i}]`,
          `unionAll branches must have the same columns in the same order: [${first.join(', ')}] vs [${names.join(', ')}]`,
        );
      }
    });
    return first;
  }

  private column(column: unknown, path: string): string {
    if (!isRecord(column)) this.fail(path, 'must be an object');
    this.keys(column, COLUMN_KEYS, path);
    if (typeof column.name !== 'string' || !NAME_PATTERN.test(column.name)) {
      this.fail(
        `${path}.name`,
        `column name ${JSON.stringify(column.name)} must match ${NAME_PATTERN.source}`,
      );
    }
    this.nameLength(column.name, `${path}.name`, 'column name');
    this.expression(column.path, `${path}.path`);
    if (column.type !== undefined && typeof column.type !== 'string')
      this.fail(`${path}.type`, 'must be a string');
    if (column.collection !== undefined && typeof column.collection !== 'boolean')
      this.fail(`${path}.collection`, 'must be a boolean');
    if (column.description !== undefined && typeof column.description !== 'string')
      this.fail(`${path}.description`, 'must be a string');
    if (column.tag !== undefined) this.tags(column.tag, `${path}.tag`);
    return column.name;
  }

  /** Tags are `{ name, value }` strings; an `ansi/type` tag must name a type fhir-etl can hold. */
  private tags(tags: unknown, path: string): void {
    if (!Array.isArray(tags)) this.fail(path, 'must be an array');
    tags.forEach((tag: unknown, i) => {
      if (!isRecord(tag) || typeof tag.name !== 'string' || typeof tag.value !== 'string')
        this.fail(`${path}[${i}]`, 'must be an object with string name and value');
      if (tag.name === ANSI_TYPE_TAG && parseAnsiType(tag.value) === undefined) {
        this.fail(
          `${path}[${i}].value`,
          `ansi/type ${JSON.stringify(tag.value)} is not one fhir-etl holds: ${ANSI_TYPES.join(', ')} (with a length or precision where SQL allows one)`,
        );
      }
    });
  }

  /**
   * FHIRPath syntax and references to constants. An expression the fast subset
   * parses is valid FHIRPath (the subset is stricter than the grammar); only the
   * others go to fhirpath.js's parser, which costs far more to load and run.
   */
  private expression(expression: unknown, path: string): void {
    if (typeof expression !== 'string' || expression.trim() === '')
      this.fail(path, 'must be a FHIRPath expression string');
    if (parseFastSubset(expression) === undefined) {
      try {
        fhirpathJs().parse(expression);
      } catch (error) {
        this.fail(path, `invalid FHIRPath '${expression}': ${firstLine(error)}`, error);
      }
    }
    let variables: string[];
    try {
      variables = referencedVariables(expression);
    } catch (error) {
      this.fail(path, `invalid FHIRPath '${expression}': ${firstLine(error)}`, error);
    }
    for (const name of variables) {
      if (!this.constants.has(name) && !BUILTIN_VARIABLES.has(name))
        this.fail(path, `undefined constant %${name}`);
    }
  }

  private uniqueColumns(names: string[]): void {
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) this.fail('select', `duplicate column name '${name}'`);
      seen.add(name);
    }
  }

  private keys(object: Record<string, unknown>, allowed: ReadonlySet<string>, path: string): void {
    for (const key of Object.keys(object)) {
      if (!allowed.has(key)) this.fail(path === '' ? key : `${path}.${key}`, `unknown key '${key}'`);
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
