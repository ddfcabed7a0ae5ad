import { type ConnectionPool, sql } from '@databases/pg';
import { FhirEtlError } from '../errors/index.ts';
import { type ViewTable, viewTable } from '../loaders/index.ts';
import { shippedViewsDir } from '../schemas/index.ts';
import {
  type CompiledView,
  compileView,
  loadViewDefinitions,
  parseViewDefinition,
  type ViewDefinition,
} from '../transforms/index.ts';
import { queryRows } from '../loaders/postgres/query-rows.ts';

/** The shipped views (schemas/views) and the user's own folders, compiled, names unique. */
export async function configuredViews(extraDirs: string[] = []): Promise<CompiledView[]> {
  const definitions = await loadViewDefinitions([shippedViewsDir, ...extraDirs]);
  return definitions.map((definition) => compiledOnce(definition));
}

/**
 * Each definition compiled once: the files' definitions are the same objects while their text
 * is unchanged (see loadViewFiles), so a scheduler's next fire, or a test's next run, reuses
 * the compiled view. Sharing one is safe: emit() runs synchronously, start to end.
 */
const compiled = new WeakMap<ViewDefinition, CompiledView>();

function compiledOnce(definition: ViewDefinition): CompiledView {
  let view = compiled.get(definition);
  if (view === undefined) {
    view = compileView(definition);
    compiled.set(definition, view);
  }
  return view;
}

/**
 * The view tables the warehouse has (fhir_etl.views) whose views are not among `given`: a
 * load that left them out would leave them stale without a word, so every load fills them
 * too, from the definition each table was built with (kept in fhir_etl.views), into the
 * schema it was built in. A user view loaded once with `--views DIR` stays fresh when a later
 * load or run omits the folder; giving the folder again (changed or not) takes over.
 *
 * A table whose columns no longer have the types this version of fhir-etl gives its
 * definition is rebuilt from fhir_raw, as any changed view is.
 */
export async function registeredViewTables(
  db: ConnectionPool,
  given: readonly string[],
): Promise<ViewTable[]> {
  const rows: Array<{ name: string; table_schema: string; signature: string; definition: unknown }> =
    await queryRows(
      db,
      sql`
      SELECT name, table_schema, signature, definition FROM fhir_etl.views
      WHERE NOT (name = ANY(${[...given]}::text[])) ORDER BY name`,
    );
  const tables: ViewTable[] = [];
  for (const row of rows) {
    const table = viewTable(compileRegistered(row.name, row.definition), row.table_schema);
    // The table was built from this very definition; only its key order differs (jsonb keeps
    // its own), which would change the computed signature and rebuild it for nothing.
    tables.push((await hasColumnTypes(db, table)) ? { ...table, signature: row.signature } : table);
  }
  return tables;
}

/** The names of the view tables the warehouse has, as `schema.table`. */
export async function registeredViewNames(db: ConnectionPool): Promise<string[]> {
  const rows: Array<{ name: string; table_schema: string }> = await queryRows(
    db,
    sql`SELECT name, table_schema FROM fhir_etl.views ORDER BY name`,
  );
  return rows.map((row) => `${row.table_schema}.${row.name}`);
}

/**
 * `load --no-views` on a warehouse that has view tables: the load would add resources to
 * fhir_raw that those tables never see.
 */
export class StaleViewsError extends FhirEtlError {
  constructor(tables: string[]) {
    const listed =
      tables.length > 8
        ? `${tables.slice(0, 8).join(', ')} and ${tables.length - 8} more`
        : tables.join(', ');
    super(
      `this warehouse has view tables (${listed}) that a load with --no-views would leave stale: ` +
        'load without --no-views, which fills them beside fhir_raw',
      { code: 'VIEWS_WOULD_GO_STALE', context: { tables }, kind: 'input' },
    );
  }
}

/** A view table's stored definition that this version cannot compile any more. */
export class RegisteredViewError extends FhirEtlError {
  constructor(name: string, cause: unknown) {
    super(
      `view ${name}, whose table this warehouse has, cannot be read from fhir_etl.views any more ` +
        `(${(cause as Error).message}): give its folder with --views (or in the config's views) so its ` +
        'current definition replaces the stored one',
      { code: 'REGISTERED_VIEW_INVALID', context: { view: name }, cause, kind: 'input' },
    );
  }
}

function compileRegistered(name: string, definition: unknown): CompiledView {
  try {
    return compileView(parseViewDefinition(definition, `fhir_etl.views ${name}`));
  } catch (error) {
    throw new RegisteredViewError(name, error);
  }
}

/** Whether the view's table exists with exactly the columns and types the view gives it. */
async function hasColumnTypes(db: ConnectionPool, table: ViewTable): Promise<boolean> {
  const names = table.view.columns.map((column) => column.name);
  const [row]: Array<{ same: boolean }> = await queryRows(
    db,
    sql`
    SELECT count(*) = ${names.length} AS same FROM unnest(${names}::text[], ${table.sqlTypes}::text[]) AS c(name, type)
    JOIN pg_attribute a
      ON a.attrelid = to_regclass(format('%I.%I', ${table.schema}::text, ${table.table}::text))
     AND a.attname = c.name AND NOT a.attisdropped
     AND a.atttypid = to_regtype(c.type)`,
  );
  return row?.same === true;
}
