import { type ConnectionPool, sql } from '@databases/pg';

/** ExplanationOfBenefit -> explanation_of_benefit: the table of a type in fhir_raw. */
export function rawTableName(resourceType: string): string {
  return resourceType.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

const DDL_LOCK = 74_110_002;

/**
 * Creates fhir_raw.<type> when a type is first seen. Runs in its own short transaction
 * (under an advisory lock, so concurrent loaders do not race on CREATE TABLE) and commits at
 * once: the file transaction that needs the table then finds it, and an empty table left by
 * a file that later failed is harmless.
 */
export function rawTableRegistry(db: ConnectionPool) {
  const known = new Set<string>();
  return {
    async ensure(resourceType: string): Promise<string> {
      const table = rawTableName(resourceType);
      if (known.has(resourceType)) return table;
      await db.tx(async (tx) => {
        await tx.query(sql`SELECT pg_advisory_xact_lock(${DDL_LOCK})`);
        await tx.query(sql`
          CREATE TABLE IF NOT EXISTS fhir_raw.${sql.ident(table)} (
            source       text        NOT NULL,
            id           text        NOT NULL,
            version_id   text,
            last_updated timestamptz,
            resource     jsonb       NOT NULL,
            run_id       bigint      NOT NULL,
            deleted      boolean     NOT NULL DEFAULT false,
            PRIMARY KEY (source, id)
          )`);
        await tx.query(sql`
          INSERT INTO fhir_etl.raw_tables (resource_type, table_name) VALUES (${resourceType}, ${table})
          ON CONFLICT (resource_type) DO NOTHING`);
      });
      known.add(resourceType);
      return table;
    },
  };
}

export type RawTableRegistry = ReturnType<typeof rawTableRegistry>;
