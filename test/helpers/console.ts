import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pgModule, { type ConnectionPool, sql } from '@databases/pg';
import { grantRead, viewSchemasOf } from '../../loaders/index.ts';
import { loadPaths } from '../../pipeline/load.ts';
import { grantConsoleAudit } from '../../ui/console-access.ts';
import { configuredViews } from '../../pipeline/views.ts';
import { type FhirResource, generateMembers } from '../../sandbox/index.ts';
import { type ConsoleOptions, type RunningConsole, startConsole } from '../../ui/index.ts';
import type { TestWarehouse } from './warehouse.ts';

/**
 * A read-only login role for the console on a test warehouse: a unique name (roles are
 * cluster-wide, and test files run at once), the grants a reader gets, dropped afterwards.
 */
export interface ReaderRole {
  name: string;
  url: string;
  db: ConnectionPool;
  drop(): Promise<void>;
}

export async function createReaderRole(warehouse: TestWarehouse): Promise<ReaderRole> {
  const name = `ui_reader_${process.pid}_${randomBytes(3).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const db = warehouse.db;
  await db.query(
    sql`CREATE ROLE ${sql.ident(name)} LOGIN PASSWORD ${sql.__dangerous__rawValue(`'${password}'`)}`,
  );
  // What `fhir-etl ui` grants its role: a reader's SELECTs with fhir_raw, and the audit function.
  await grantRead(db, { role: name, raw: true }, await viewSchemasOf(db, 'fhir'));
  await grantConsoleAudit(db, name);
  const parsed = new URL(warehouse.url);
  parsed.username = name;
  parsed.password = password;
  const url = parsed.toString();
  const reader = pgModule.default({ connectionString: url, bigIntMode: 'number', onError: () => undefined });
  return {
    name,
    url,
    db: reader,
    async drop() {
      await reader.dispose();
      await db.query(sql`DROP OWNED BY ${sql.ident(name)}`);
      await db.query(sql`DROP ROLE ${sql.ident(name)}`);
    },
  };
}

/** The console on a free loopback port, reading as `reader`. */
export function startTestConsole(
  reader: ReaderRole,
  options: Omit<ConsoleOptions, 'db'> = {},
): Promise<RunningConsole> {
  return startConsole({ host: '127.0.0.1', port: 0, ...options, db: reader.db });
}

/** The cookie header a browser would send back from a response's Set-Cookie lines. */
export function cookiesOf(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((line) => line.split(';')[0])
    .join('; ');
}

/** The CSRF token of the search form in a members page. */
export function csrfTokenOf(page: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(page);
  if (!match?.[1]) throw new Error('no CSRF token in the page');
  return match[1];
}

/**
 * Loads the sandbox's first `patients` members from NDJSON files (one per resource type) in
 * which their resources are interleaved: member A's, then B's, then A's again. Returns each
 * member's resource ids by type.
 */
export async function loadInterleavedMembers(
  warehouse: TestWarehouse,
  options: { patients: number; source: string },
): Promise<Array<{ memberId: string; patientId: string; ids: Map<string, Set<string>> }>> {
  const members = [...generateMembers({ patients: options.patients, seed: 7 })];
  const byType = new Map<string, FhirResource[][]>();
  members.forEach((m, i) => {
    for (const resource of m.resources) {
      const lists = byType.get(resource.resourceType) ?? members.map(() => []);
      lists[i]!.push(resource);
      byType.set(resource.resourceType, lists);
    }
  });
  const dir = await mkdtemp(join(tmpdir(), 'fhir-etl-ui-members-'));
  for (const [type, lists] of byType) {
    const interleaved: FhirResource[] = [];
    for (let i = 0; lists.some((list) => i < list.length); i++) {
      for (const list of lists) if (list[i]) interleaved.push(list[i]!);
    }
    await writeFile(join(dir, `${type}.ndjson`), interleaved.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }
  const summary = await loadPaths(warehouse.db, {
    paths: [dir],
    source: options.source,
    concurrency: 2,
    maxLineBytes: 1 << 24,
    views: await configuredViews(),
  });
  if (summary.status !== 'succeeded') throw new Error(`load failed: ${JSON.stringify(summary.outcomes)}`);
  return members.map((m) => {
    const ids = new Map<string, Set<string>>();
    for (const r of m.resources) {
      const set = ids.get(r.resourceType) ?? new Set<string>();
      set.add(String(r.id));
      ids.set(r.resourceType, set);
    }
    const patient = m.resources.find((r) => r.resourceType === 'Patient');
    return { memberId: m.member.memberId, patientId: String(patient?.id), ids };
  });
}
