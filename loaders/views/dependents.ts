import { sql } from '@databases/pg';
import type { SqlQueryable } from '../postgres/load-transaction.ts';
import { qualifiedName } from './table-changes.ts';
import type { ViewTable } from './view-tables.ts';
import { queryRows } from '../postgres/query-rows.ts';
import { queryRow } from '../postgres/query-row.ts';

/**
 * Views (plain or materialized) that read a view table. Refilling a table in place never
 * touches them; dropping or retyping a column they read does (PostgreSQL refuses), so they are
 * saved, dropped and recreated around the change, in the same transaction: always for the
 * tool's own views (fhir_etl.owned_views, the analytics marts), for the user's only with
 * `--cascade`.
 */
export interface DependentView {
  schema: string;
  name: string;
  kind: 'view' | 'materialized view';
  /** Columns of the changed table it reads (empty for a view over another dependent view). */
  columns: string[];
  /** 0 for a view on the table, 1 for a view on such a view, ... */
  depth: number;
  owned: boolean;
}

/** A dependent view as saved before it is dropped: what it takes to make it again. */
export interface SavedView extends DependentView {
  definition: string;
  options: string[] | null;
  owner: string;
  comment: string | null;
  columnComments: Array<{ column: string; comment: string }>;
  grants: string[];
  indexes: string[];
  /** fhir_etl.owned_views.create_sql: the owner's own statement, tried first for a tool-owned view. */
  createSql: string | null;
}

/** What happened to the dependents of one table. */
export interface DependentsOutcome {
  recreated: string[];
  notRecreated: Array<{ view: string; reason: string }>;
}

/**
 * The views that read `columns` of the table, with every view over them (they go too when
 * they are dropped), nearest first.
 */
export async function dependentViews(
  db: SqlQueryable,
  target: Pick<ViewTable, 'schema' | 'table'>,
  columns: string[],
): Promise<DependentView[]> {
  if (columns.length === 0) return [];
  const rows: Array<{
    schema: string;
    name: string;
    kind: string;
    columns: string[] | null;
    depth: number;
    owned: boolean;
  }> = await queryRows(
    db,
    sql`
    WITH RECURSIVE direct AS (
      SELECT r.ev_class AS oid, array_agg(DISTINCT a.attname::text) AS columns
      FROM pg_depend d
      JOIN pg_rewrite r ON r.oid = d.objid
      JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
      WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
        AND d.refobjid = to_regclass(${qualifiedName(target)}) AND r.ev_class <> d.refobjid
        AND a.attname = ANY(${columns}::text[])
      GROUP BY r.ev_class
    ), closure (oid, depth) AS (
      SELECT oid, 0 FROM direct
      UNION
      SELECT r.ev_class, c.depth + 1
      FROM closure c
      JOIN pg_depend d ON d.refobjid = c.oid AND d.classid = 'pg_rewrite'::regclass
                      AND d.refclassid = 'pg_class'::regclass
      JOIN pg_rewrite r ON r.oid = d.objid
      WHERE r.ev_class <> c.oid
    )
    SELECT n.nspname AS schema, v.relname AS name,
           CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END AS kind,
           direct.columns, max(closure.depth)::int AS depth,
           EXISTS (SELECT 1 FROM fhir_etl.owned_views o
                   WHERE o.view_schema = n.nspname AND o.view_name = v.relname) AS owned
    FROM closure
    JOIN pg_class v ON v.oid = closure.oid
    JOIN pg_namespace n ON n.oid = v.relnamespace
    LEFT JOIN direct ON direct.oid = closure.oid
    GROUP BY n.nspname, v.relname, v.relkind, direct.columns
    ORDER BY depth, schema, name`,
  );
  return rows.map((row) => ({
    schema: row.schema,
    name: row.name,
    kind: row.kind as DependentView['kind'],
    columns: (row.columns ?? []).sort(),
    depth: row.depth,
    owned: row.owned,
  }));
}

/** Saves each view's definition, options, owner, comments, grants and indexes, then drops them, farthest first. */
export async function saveAndDropViews(tx: SqlQueryable, views: DependentView[]): Promise<SavedView[]> {
  const saved: SavedView[] = [];
  for (const view of views) saved.push(await saveView(tx, view));
  for (const view of [...views].reverse())
    await tx.query(sql`DROP ${kindSql(view)} ${sql.ident(view.schema, view.name)}`);
  return saved;
}

/**
 * Recreates the saved views, nearest first, each under a savepoint: one that no longer fits
 * the changed table (it read a dropped column, say) is kept in fhir_etl.dropped_views with
 * the reason, and the others are still made.
 */
export async function recreateViews(
  tx: SqlQueryable,
  saved: SavedView[],
  runId: number | undefined,
): Promise<DependentsOutcome> {
  const outcome: DependentsOutcome = { recreated: [], notRecreated: [] };
  for (const view of saved) {
    const name = `${view.schema}.${view.name}`;
    const attempts = [view.createSql, createStatement(view)].filter((s): s is string => s !== null);
    let reason = '';
    for (const statement of attempts) {
      reason = await attempt(tx, async () => {
        await tx.query(sql.__dangerous__rawValue(statement));
        await restoreDetails(tx, view);
      });
      if (reason === '') break;
    }
    if (reason === '') {
      outcome.recreated.push(name);
      continue;
    }
    outcome.notRecreated.push({ view: name, reason });
    await tx.query(sql`
      INSERT INTO fhir_etl.dropped_views (run_id, view_schema, view_name, kind, definition, reason)
      VALUES (${runId ?? null}, ${view.schema}, ${view.name}, ${view.kind}, ${createStatement(view)}, ${reason})`);
  }
  return outcome;
}

/** A dependent view as pg_class describes it (create_sql: ours, for a view fhir-etl created). */
interface SavedViewRow {
  definition: string;
  options: string[] | null;
  owner: string;
  comment: string | null;
  create_sql: string | null;
}

async function saveView(tx: SqlQueryable, view: DependentView): Promise<SavedView> {
  const relation = `${quoteIdent(view.schema)}.${quoteIdent(view.name)}`;
  const row = await queryRow<SavedViewRow>(
    tx,
    sql`
    SELECT pg_get_viewdef(c.oid, true) AS definition, c.reloptions AS options,
           pg_get_userbyid(c.relowner) AS owner, obj_description(c.oid, 'pg_class') AS comment,
           (SELECT create_sql FROM fhir_etl.owned_views o
             WHERE o.view_schema = ${view.schema} AND o.view_name = ${view.name}) AS create_sql
    FROM pg_class c WHERE c.oid = to_regclass(${relation})`,
  );
  const columnComments: Array<{ column: string; comment: string }> = await queryRows(
    tx,
    sql`
    SELECT a.attname AS column, col_description(a.attrelid, a.attnum) AS comment
    FROM pg_attribute a
    WHERE a.attrelid = to_regclass(${relation}) AND a.attnum > 0 AND NOT a.attisdropped
      AND col_description(a.attrelid, a.attnum) IS NOT NULL`,
  );
  const grants: Array<{ statement: string }> = await queryRows(
    tx,
    sql`
    SELECT format('GRANT %s ON %s TO %s%s', acl.privilege_type, ${relation}::text,
                  CASE acl.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(acl.grantee)) END,
                  CASE WHEN acl.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS statement
    FROM pg_class c, aclexplode(c.relacl) AS acl
    WHERE c.oid = to_regclass(${relation}) AND acl.grantee <> c.relowner`,
  );
  const indexes: Array<{ definition: string }> = await queryRows(
    tx,
    sql`
    SELECT pg_get_indexdef(i.indexrelid) AS definition FROM pg_index i
    WHERE i.indrelid = to_regclass(${relation})`,
  );
  return {
    ...view,
    definition: row.definition,
    options: row.options,
    owner: row.owner,
    comment: row.comment,
    columnComments,
    grants: grants.map((g) => g.statement),
    indexes: indexes.map((i) => i.definition),
    createSql: view.owned ? row.create_sql : null,
  };
}

function createStatement(view: SavedView): string {
  const options = view.options && view.options.length > 0 ? ` WITH (${view.options.join(', ')})` : '';
  const name = `${quoteIdent(view.schema)}.${quoteIdent(view.name)}`;
  return `CREATE ${view.kind === 'view' ? 'VIEW' : 'MATERIALIZED VIEW'} ${name}${options} AS ${view.definition.replace(/;\s*$/, '')}`;
}

/** Comments, grants, indexes and owner, as the view had them before it was dropped. */
async function restoreDetails(tx: SqlQueryable, view: SavedView): Promise<void> {
  const name = sql.ident(view.schema, view.name);
  const kind = kindSql(view);
  if (view.comment !== null) await tx.query(sql`COMMENT ON ${kind} ${name} IS ${literal(view.comment)}`);
  for (const { column, comment } of view.columnComments)
    await tx.query(
      sql`COMMENT ON COLUMN ${sql.ident(view.schema, view.name, column)} IS ${literal(comment)}`,
    );
  for (const grant of view.grants) await tx.query(sql.__dangerous__rawValue(grant));
  for (const index of view.indexes) await tx.query(sql.__dangerous__rawValue(index));
  // Another role's view goes back to that role; the loader's role may not be a member of it,
  // and then the view stays the loader's: its grants above still let its readers in.
  await attempt(tx, () => tx.query(sql`ALTER ${kind} ${name} OWNER TO ${sql.ident(view.owner)}`));
}

/** Runs `step` under a savepoint; returns PostgreSQL's message when it failed (rolled back), else ''. */
async function attempt(tx: SqlQueryable, step: () => Promise<unknown>): Promise<string> {
  await tx.query(sql`SAVEPOINT fhir_etl_dependent`);
  try {
    await step();
    await tx.query(sql`RELEASE SAVEPOINT fhir_etl_dependent`);
    return '';
  } catch (error) {
    await tx.query(sql`ROLLBACK TO SAVEPOINT fhir_etl_dependent`);
    // PostgreSQL's own message; the driver appends the statement, which the report names already.
    return ((error as Error).message.split('\n')[0] as string).trim();
  }
}

function kindSql(view: Pick<DependentView, 'kind'>) {
  return sql.__dangerous__rawValue(view.kind === 'view' ? 'VIEW' : 'MATERIALIZED VIEW');
}

function literal(text: string) {
  return sql.__dangerous__rawValue(`'${text.replace(/'/g, "''")}'`);
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
