import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionPool, sql } from '@databases/pg';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import pino, { type Logger } from 'pino';
import { configSchema, type LoadedConfig, type PayerExchangeSourceConfig } from '../../config/index.ts';
import { prepareLoad } from '../../pipeline/ingest.ts';
import type { SourceRunResult } from '../../pipeline/run-recorder.ts';
import { runPayerExchangeSource } from '../../pipeline/sources/payer-exchange.ts';
import type { RunRequest } from '../../pipeline/sources/index.ts';
import { configuredViews } from '../../pipeline/views.ts';
import { DEFAULT_CLIENTS, type Sandbox, type SandboxClient } from '../../sandbox/index.ts';
import { writeConfigFile } from './bulk-run.ts';

/** The set-up of the Payer-to-Payer tests: members drawn from the sandbox, a Backend Services client, runs on a clock. */

export const NEW_PAYER = {
  system: 'http://hl7.org/fhir/sid/us-npi',
  value: '1234567893',
  name: 'New Health Plan',
};
export const OLD_PAYER = {
  system: 'http://hl7.org/fhir/sid/us-npi',
  value: '1987654320',
  name: 'Sandbox Health Plan',
};

export const MEMBER_COLUMNS = [
  'member_id',
  'given',
  'family',
  'birth_date',
  'gender',
  'address_line',
  'city',
  'state',
  'postal_code',
  'old_member_id',
  'old_payer_id',
  'old_payer_name',
  'old_plan_id',
  'consent_start',
  'consent_end',
  'consent_policy',
] as const;
export type MemberColumns = Partial<Record<(typeof MEMBER_COLUMNS)[number], string>>;

/** A member row for sandbox member `index`, as the new payer would have it from enrollment. */
export function memberRow(sandbox: Sandbox, index: number, overrides: MemberColumns = {}): MemberColumns {
  const patient = sandbox.pdex.recordOf(index).find((r) => r.resourceType === 'Patient') as unknown as {
    name: Array<{ family: string; given: string[] }>;
    gender: string;
    birthDate: string;
    address: Array<{ line: string[]; city: string; state: string; postalCode: string }>;
  };
  const address = patient.address[0];
  return {
    member_id: `NEW-${String(index).padStart(4, '0')}`,
    given: patient.name[0]?.given.join(' '),
    family: patient.name[0]?.family,
    birth_date: patient.birthDate,
    gender: patient.gender,
    address_line: address?.line[0],
    city: address?.city,
    state: address?.state,
    postal_code: address?.postalCode,
    old_member_id: sandbox.members[index]?.memberId,
    old_payer_id: OLD_PAYER.value,
    old_payer_name: OLD_PAYER.name,
    old_plan_id: 'HMO-GOLD',
    consent_start: '2026-01-01',
    consent_end: '2026-12-31',
    consent_policy: 'all',
    ...overrides,
  };
}

/** Writes rows as CSV (quoted where needed) in a fresh folder; returns the file. */
export async function writeMembersCsv(rows: MemberColumns[], name = 'members.csv'): Promise<string> {
  const quote = (v: string | undefined) =>
    v === undefined ? '' : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
  const lines = [
    MEMBER_COLUMNS.join(','),
    ...rows.map((r) => MEMBER_COLUMNS.map((c) => quote(r[c])).join(',')),
  ];
  const file = join(await mkdtemp(join(tmpdir(), 'fhir-etl-exchange-')), name);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

/** A SMART Backend Services client: its public key registered with the sandbox, its private key in a file. */
export async function backendServicesClient(): Promise<{
  client: SandboxClient;
  privateKeyFile: string;
  kid: string;
}> {
  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = 'new-payer-es384';
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };
  const privateKeyFile = join(await mkdtemp(join(tmpdir(), 'fhir-etl-exchange-key-')), 'key.pem');
  await writeFile(privateKeyFile, await exportPKCS8(privateKey), { mode: 0o600 });
  return {
    client: {
      clientId: 'new-payer',
      jwks: { keys: [publicJwk] },
      grantTypes: ['client_credentials'],
    },
    privateKeyFile,
    kid,
  };
}

/** The config entry of an exchange source on the sandbox, polling without waiting. */
export function exchangeSource(
  sandbox: Sandbox,
  members: { file: string } | { query: string },
  keys: { privateKeyFile: string; kid: string },
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name: 'prior-payer',
    kind: 'payer-exchange',
    baseUrl: sandbox.p2pBaseUrl,
    auth: {
      type: 'backend_services',
      clientId: 'new-payer',
      privateKeyFile: keys.privateKeyFile,
      kid: keys.kid,
      algorithm: 'ES384',
      scope: 'system/Group.u system/*.rs',
    },
    requestingPayer: NEW_PAYER,
    members,
    consentDocument: 'https://new-plan.example.org/fhir/DocumentReference/consent-{member}',
    match: { maxPollIntervalSeconds: 0.05 },
    export: { maxPollIntervalSeconds: 0.05, concurrency: 2 },
    ...overrides,
  };
}

/**
 * A config file for `fhir-etl run` with one exchange source on the sandbox, signed in with the
 * sandbox's client credentials and polling without waiting; `matchBatchSize` as given.
 */
export function writeExchangeConfig(
  sandbox: Sandbox,
  membersFile: string,
  options: { matchBatchSize?: number } = {},
): Promise<string> {
  const batch = options.matchBatchSize === undefined ? '' : `, batchSize: ${options.matchBatchSize}`;
  return writeConfigFile('fhir-etl-exchange-run-', [
    'sources:',
    '  - name: prior-payer',
    '    kind: payer-exchange',
    `    baseUrl: ${sandbox.p2pBaseUrl}`,
    '    auth:',
    '      type: client_credentials',
    `      tokenUrl: ${sandbox.url}/p2p/oauth2/token`,
    `      clientId: ${DEFAULT_CLIENTS.provider.clientId}`,
    `      clientSecret: ${DEFAULT_CLIENTS.provider.clientSecret}`,
    `    requestingPayer: { value: '${NEW_PAYER.value}', name: ${NEW_PAYER.name} }`,
    `    members: { file: ${membersFile} }`,
    "    consentDocument: 'https://new-plan.example.org/consents/{member}'",
    `    match: { maxPollIntervalSeconds: 0.05${batch} }`,
    '    export: { maxPollIntervalSeconds: 0.05 }',
  ]);
}

/** A clock the sandbox and the runs share: `now` reads it, waits between polls move it on. */
export interface Clock {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  set(iso: string): void;
  advanceDays(days: number): void;
}

export function clockAt(iso: string): Clock {
  let time = Date.parse(iso);
  return {
    now: () => time,
    sleep: async (ms) => {
      time += ms;
    },
    set(at) {
      time = Date.parse(at);
    },
    advanceDays(days) {
      time += days * 86_400_000;
    },
  };
}

/** Runs an exchange source (its config entry) on the clock, the way `fhir-etl run` runs a source. */
export async function runExchange(
  db: ConnectionPool,
  entry: Record<string, unknown>,
  clock: Clock,
  options: { request?: RunRequest; logger?: Logger } = {},
): Promise<SourceRunResult> {
  const config: LoadedConfig = { ...configSchema.parse({ sources: [entry] }), file: undefined };
  const load = await prepareLoad(db, { views: await configuredViews(config.views), viewSchema: 'fhir' });
  return runPayerExchangeSource(
    { load, config, logger: options.logger ?? pino({ level: 'silent' }), request: options.request ?? {} },
    config.sources[0] as PayerExchangeSourceConfig,
    { now: clock.now, sleep: clock.sleep },
  );
}

/** The kick-offs of a source's exports as fhir_etl.bulk_exports recorded them: URL and Parameters. */
export async function exportKickOffs(db: ConnectionPool, source = 'prior-payer') {
  const rows: Array<{ request: { url: string; body?: string } }> = await db.query(
    sql`SELECT request FROM fhir_etl.bulk_exports WHERE source = ${source} ORDER BY id`,
  );
  return rows.map(({ request }) => {
    const parameters = (
      request.body
        ? (JSON.parse(request.body) as { parameter: Array<Record<string, unknown>> })
        : { parameter: [] }
    ).parameter;
    const values = (name: string) =>
      parameters
        .filter((p) => p.name === name)
        .map(
          (p) =>
            (p.valueReference as { reference: string } | undefined)?.reference ??
            String(Object.entries(p).find(([k]) => k.startsWith('value'))?.[1]),
        );
    return { url: request.url, values };
  });
}

/** The members of an exchange source as the warehouse has them. */
export async function exchangeMembers(db: ConnectionPool, source = 'prior-payer') {
  return db.query(sql`
    SELECT member_id, outcome, group_id, old_patient_id, old_member_id, matched_at, reason, consent_policy,
           first_pull_at, last_pull_at, pulls_stopped
    FROM fhir_etl.exchange_members WHERE source = ${source} ORDER BY member_id`);
}

/** Resource ids per type in fhir_raw for a source. */
export async function rawIds(db: ConnectionPool, source = 'prior-payer'): Promise<Map<string, Set<string>>> {
  const tables: Array<{ resource_type: string; table_name: string }> = await db.query(
    sql`SELECT resource_type, table_name FROM fhir_etl.raw_tables`,
  );
  const ids = new Map<string, Set<string>>();
  for (const t of tables) {
    const rows: Array<{ id: string }> = await db.query(
      sql`SELECT id FROM fhir_raw.${sql.ident(t.table_name)} WHERE source = ${source} AND NOT deleted`,
    );
    if (rows.length > 0) ids.set(t.resource_type, new Set(rows.map((r) => r.id)));
  }
  return ids;
}
