/**
 * A column's type hint for SQL databases: a `tag` named `ansi/type` whose value is an ANSI SQL
 * type (`DATE`, `TIMESTAMP WITH TIME ZONE`, `DECIMAL(10,2)`, `VARCHAR(64)`, ...). It says how a
 * value lands in a table where the FHIR type alone does not: a `dateTime` element that carries
 * calendar dates (a claim's billable period) is tagged `DATE`.
 * @see SQL on FHIR v2, ViewDefinition.select.column.tag ("Type hinting with tags")
 */
export const ANSI_TYPE_TAG = 'ansi/type';

/** The ANSI types fhir-etl can hold, by their name without length or precision. */
export const ANSI_TYPES = [
  'BOOLEAN',
  'DATE',
  'TIME',
  'TIMESTAMP WITH TIME ZONE',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'DECIMAL',
  'NUMERIC',
  'CHAR',
  'CHARACTER',
  'VARCHAR',
  'CHARACTER VARYING',
  'CLOB',
] as const;

export type AnsiType = (typeof ANSI_TYPES)[number];

const ANSI_TYPE = /^\s*([A-Za-z][A-Za-z ]*?)\s*(?:\(\s*\d+\s*(?:,\s*\d+\s*)?\))?\s*$/;

/**
 * The ANSI type a tag value names, without its length or precision (`DECIMAL(10,2)` is
 * `DECIMAL`), or undefined when it names none fhir-etl holds (`TIMESTAMP` without a zone would
 * drop the offset FHIR sends, so it is not one of them).
 */
export function parseAnsiType(value: string): AnsiType | undefined {
  const match = ANSI_TYPE.exec(value);
  if (!match) return undefined;
  const name = (match[1] as string).toUpperCase().replace(/\s+/g, ' ');
  return (ANSI_TYPES as readonly string[]).includes(name) ? (name as AnsiType) : undefined;
}

/** The `ansi/type` tag's value among a column's tags, if it has one. */
export function ansiTypeTag(
  tags: ReadonlyArray<{ name: string; value: string }> | undefined,
): string | undefined {
  return tags?.find((tag) => tag.name === ANSI_TYPE_TAG)?.value;
}
