import { type ConnectionPool, sql } from '@databases/pg';
import type { Logger } from 'pino';
import { type LoadedConfig, parseConfigText, type RestSourceConfig } from '../config/index.ts';
import { createHttpClient } from '../connectors/http/index.ts';
import { freePort } from '../loaders/index.ts';
import { startSandbox, TEST_MEMBERS } from '../sandbox/index.ts';
import { poolSizeForRun } from './connections.ts';
import { loginMember } from './members/login.ts';
import { loadSecretKey } from './members/secret-key.ts';
import type { ProgressReporter } from './progress.ts';
import type { SourceRunResult } from './run-recorder.ts';
import { runSources } from './run.ts';
import { queryRows } from '../loaders/postgres/query-rows.ts';
import { queryRow } from '../loaders/postgres/query-row.ts';

/** The two demo sources, as a user would configure them against the sandbox. */
export const DEMO_SOURCES = { provider: 'sandbox-provider', payer: 'sandbox-payer' } as const;

/**
 * Connections the demo's run needs (the sources' concurrency, DDL, run records, the lock),
 * computed from the demo config itself on placeholder addresses.
 */
export function demoPoolSize(): number {
  const here = 'http://127.0.0.1';
  const urls = { providerBaseUrl: here, payerBaseUrl: here, tokenUrl: here, authorizeUrl: here };
  return poolSizeForRun(demoConfig(urls, `${here}/callback`).sources);
}

/** The members who log in to the payer source: two of 1up's four Payer-to-Payer test members. */
const DEMO_MEMBERS = TEST_MEMBERS.slice(0, 2).map((member) => member.memberId);

export interface DemoOptions {
  patients: number;
  seed: number;
  logger: Logger;
  progress?: ProgressReporter;
  /** Where the story is told (stdout). */
  say: (line: string) => void;
}

export interface DemoResult {
  runs: SourceRunResult[];
  members: string[];
}

/**
 * `fhir-etl demo`: the whole product on one machine with no account and no network. The
 * sandbox stands in for 1up's Provider Access (Bulk Data, client credentials) and
 * Payer-to-Payer (member login, FHIR search) APIs; two members log in through the real
 * authorization-code flow (login_hint plays the member's click, the real loopback callback
 * receives the code); both sources run through the connectors, the shipped views and the
 * load path exactly as `fhir-etl run` does.
 */
export async function runDemo(db: ConnectionPool, options: DemoOptions): Promise<DemoResult> {
  const { say } = options;
  const sandbox = await startSandbox({
    patients: options.patients,
    seed: options.seed,
    retryAfterSeconds: 0,
  });
  try {
    say(
      `sandbox: 1up-like Provider Access and Payer-to-Payer APIs at ${sandbox.url} (${options.patients} members)`,
    );
    const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
    sandbox.registerClient({
      clientId: 'demo-payer-app',
      clientSecret: 'demo-payer-secret',
      grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: [redirectUri],
    });
    const config = demoConfig(sandbox, redirectUri);
    const payer = config.sources.find((s) => s.name === DEMO_SOURCES.payer) as RestSourceConfig;
    const key = await loadSecretKey(config.secrets, { create: true });
    const http = createHttpClient({ logger: options.logger });
    for (const memberId of DEMO_MEMBERS) {
      const login = await loginMember(db, payer, {
        http,
        key,
        loginHint: memberId,
        // The member's browser: follows the authorize redirect to our callback listener.
        presentAuthorizationUrl: async (url) => {
          const response = await fetch(url, { redirect: 'follow' });
          await response.body?.cancel();
        },
      });
      say(
        `payer: member ${memberId} logged in (patient ${login.patientId}, refresh token: ${login.hasRefreshToken ? 'yes' : 'no'})`,
      );
    }
    say('running both sources: Bulk Data $export (provider) and FHIR search per member (payer) ...');
    const runs = await runSources(db, config, { logger: options.logger, progress: options.progress });
    return { runs, members: DEMO_MEMBERS };
  } finally {
    await sandbox.close();
  }
}

/** The config a user would write for the sandbox (config/sandbox.example.yaml), on this run's ports. */
function demoConfig(
  sandbox: { providerBaseUrl: string; payerBaseUrl: string; tokenUrl: string; authorizeUrl: string },
  redirectUri: string,
): LoadedConfig {
  const text = JSON.stringify({
    sources: [
      {
        name: DEMO_SOURCES.provider,
        kind: 'bulk',
        baseUrl: sandbox.providerBaseUrl,
        export: { level: 'system' },
        auth: {
          type: 'client_credentials',
          tokenUrl: sandbox.tokenUrl,
          clientId: 'provider-client',
          clientSecret: 'provider-secret',
          scope: 'bulk-data|user/*.rs',
        },
      },
      {
        name: DEMO_SOURCES.payer,
        kind: 'fhir-rest',
        baseUrl: sandbox.payerBaseUrl,
        resources: [
          'Patient',
          'Encounter',
          'Condition',
          'Observation',
          'MedicationRequest',
          'AllergyIntolerance',
          'Procedure',
          'Immunization',
          'ExplanationOfBenefit',
        ],
        auth: {
          type: 'authorization_code',
          authorizeUrl: sandbox.authorizeUrl,
          tokenUrl: sandbox.tokenUrl,
          clientId: 'demo-payer-app',
          clientSecret: 'demo-payer-secret',
          redirectUri,
          scope: 'launch/patient openid fhirUser offline_access patient/*.rs',
        },
      },
    ],
  });
  return parseConfigText(text, 'the demo config');
}

/** Rows of the given sources per view table, for the summary. */
export async function viewTableCounts(
  db: ConnectionPool,
  sources: string[],
  schema = 'fhir',
): Promise<Array<{ table: string; rows: number }>> {
  const tables: Array<{ table_name: string }> = await queryRows(
    db,
    sql`
    SELECT table_name FROM information_schema.tables
    WHERE table_schema = ${schema} AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const counts: Array<{ table: string; rows: number }> = [];
  for (const { table_name: table } of tables) {
    const row = await queryRow<{ n: number }>(
      db,
      sql`SELECT count(*)::int AS n FROM ${sql.ident(schema, table)} WHERE _source = ANY(${sources})`,
    );
    counts.push({ table: `${schema}.${table}`, rows: row.n });
  }
  return counts;
}

/** The analyst's first question: claims and paid amount per member per month. */
export const CLAIMS_PER_MEMBER_MONTH = `SELECT p.member_id,
       p.full_name,
       to_char(date_trunc('month', e.billable_period_start), 'YYYY-MM') AS month,
       count(*)                                          AS claims,
       sum(e.total_paid_amount)                          AS paid
FROM fhir.explanation_of_benefit e
JOIN fhir.patient p ON p.id = e.patient_id AND p._source = e._source
WHERE e.use = 'claim' AND e._source = 'sandbox-provider'
GROUP BY 1, 2, 3
ORDER BY paid DESC NULLS LAST
LIMIT 10`;

export async function claimsPerMemberMonth(db: ConnectionPool): Promise<Array<Record<string, unknown>>> {
  return queryRows(db, sql.__dangerous__rawValue(CLAIMS_PER_MEMBER_MONTH));
}
