import { sql } from '@databases/pg';
import test from 'ava';
import { pino } from 'pino';
import { AuthError } from '../connectors/auth/errors.ts';
import { memberTokenProvider } from '../connectors/auth/refresh-token-provider.ts';
import { createHttpClient } from '../connectors/http/index.ts';
import { memberTokenStore } from '../pipeline/members/credential-store.ts';
import { loginClient } from '../pipeline/members/login.ts';
import { listMembers } from '../pipeline/members/members.ts';
import { runSources } from '../pipeline/run.ts';
import { startHttpServer } from './helpers/http-server.ts';
import { postForm } from './helpers/sandbox.ts';
import { rows, useTestWarehouse } from './helpers/warehouse.ts';
import { loginAs, usePayer } from './helpers/payer.ts';

const logger = pino({ level: 'silent' });
const warehouse = useTestWarehouse(test);
// Access tokens that live 30 s are always inside the 60 s refresh margin: every first use refreshes.
const payer = usePayer(test, { accessTokenSeconds: { authorizationCode: 30 }, resources: ['Patient'] });

const tokenPosts = (from: number) =>
  payer.sandbox.requests.slice(from).filter((r) => r.method === 'POST' && r.url === payer.sandbox.tokenUrl);

function providerFor(patientId: string, clock: { now?: () => number; refreshBeforeMs?: number } = {}) {
  const member = { source: 'payer', patientId };
  return loginClient(payer.source, createHttpClient()).then((client) =>
    memberTokenProvider({
      client,
      store: memberTokenStore(warehouse.db, payer.key, member),
      member,
      ...clock,
    }),
  );
}

test.serial('a refresh rotates the refresh token and stores the new one, sealed', async (t) => {
  const { patientId } = await loginAs(warehouse.db, payer, '01-testmemid');
  const store = memberTokenStore(warehouse.db, payer.key, { source: 'payer', patientId });
  const before = await store.read();
  const accessToken = await (await providerFor(patientId)).token();
  const after = await store.read();
  t.is(accessToken, after.accessToken);
  t.not(after.accessToken, before.accessToken);
  t.not(after.refreshToken, before.refreshToken, 'rotated');
  t.is(after.patient, patientId);
  const [member] = await listMembers(warehouse.db, 'payer');
  t.truthy(member?.refreshedAt);
  const reuse = await postForm(payer.sandbox.tokenUrl, {
    grant_type: 'refresh_token',
    refresh_token: before.refreshToken!,
    client_id: 'etl-test',
    client_secret: 'etl-test-secret',
  });
  t.is(((await reuse.json()) as { error: string }).error, 'invalid_grant', 'the rotated token is dead');
});

test.serial('two workers renewing one member at once refresh once and share the result', async (t) => {
  const { patientId } = await loginAs(warehouse.db, payer, '02-testmemid');
  // Both workers see the login's token as expired (their clock is 45 s ahead of its 30 s life).
  const clock = { now: () => Date.now() + 45_000, refreshBeforeMs: 0 };
  const [a, b] = await Promise.all([providerFor(patientId, clock), providerFor(patientId, clock)]);
  const from = payer.sandbox.requests.length;
  const [tokenA, tokenB] = await Promise.all([a.token(), b.token()]);
  t.is(tokenA, tokenB, 'the second worker used the tokens the first stored');
  t.is(tokenPosts(from).length, 1, 'one refresh, not two');
  t.is(tokenPosts(from)[0]?.status, 200);
});

test.serial('an invalid_grant marks the member as needing login; the run says to log in again', async (t) => {
  const { patientId } = await loginAs(warehouse.db, payer, '03-testmemid');
  const stored = await memberTokenStore(warehouse.db, payer.key, { source: 'payer', patientId }).read();
  // Someone else spends the refresh token (or the member revokes consent): ours is now dead.
  const spent = await postForm(payer.sandbox.tokenUrl, {
    grant_type: 'refresh_token',
    refresh_token: stored.refreshToken!,
    client_id: 'etl-test',
    client_secret: 'etl-test-secret',
  });
  t.is(spent.status, 200);
  const result = (await runSources(warehouse.db, payer.config, { logger }))[0]!;
  t.is(result.status, 'failed');
  t.regex(result.error ?? '', new RegExp(`member ${patientId} of source payer must log in again`));
  t.regex(result.error ?? '', /fhir-etl auth login payer/);
  t.regex(result.error ?? '', /invalid_grant/);
  const member = (await listMembers(warehouse.db, 'payer')).find((m) => m.patientId === patientId);
  t.true(member?.needsLogin);
  t.regex(member?.loginError ?? '', /invalid_grant/);
  const others = await rows(warehouse.db, sql`SELECT id FROM fhir_raw.patient ORDER BY id`);
  t.is(others.length, 2, 'the other members were still read');

  const next = (await runSources(warehouse.db, payer.config, { logger }))[0]!;
  t.is(next.status, 'succeeded', next.error);
  t.true(next.warnings?.some((w) => w.includes(patientId) && w.includes('auth login payer')));

  await loginAs(warehouse.db, payer, '03-testmemid');
  const renewed = (await listMembers(warehouse.db, 'payer')).find((m) => m.patientId === patientId);
  t.false(renewed?.needsLogin, 'a new login clears the flag');
});

test.serial(
  'a refresh whose commit fails is saved again: the rotated refresh token is not lost',
  async (t) => {
    const { patientId } = await loginAs(warehouse.db, payer, '04-testmemid');
    const member = { source: 'payer', patientId };
    const logs: Array<{ event?: string }> = [];
    const store = memberTokenStore(warehouse.db, payer.key, member, {
      logger: pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
    });
    const before = await store.read();
    // The first transaction that updates a credential fails at COMMIT (a deferred constraint
    // trigger); a sequence counts across the rollback, so only that one fails.
    await warehouse.db.query(sql`CREATE SEQUENCE fhir_etl.test_commit_failures`);
    await warehouse.db.query(sql`
    CREATE FUNCTION fhir_etl.test_fail_commit_once() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval('fhir_etl.test_commit_failures') = 1 THEN
        RAISE EXCEPTION 'commit refused (test)';
      END IF;
      RETURN NULL;
    END $$`);
    await warehouse.db.query(sql`
    CREATE CONSTRAINT TRIGGER test_fail_commit_once AFTER UPDATE ON fhir_etl.credentials
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fhir_etl.test_fail_commit_once()`);
    try {
      const client = await loginClient(payer.source, createHttpClient());
      const provider = memberTokenProvider({ client, store, member });
      const accessToken = await provider.token();
      const after = await store.read();
      t.is(accessToken, after.accessToken);
      t.not(after.refreshToken, before.refreshToken, 'the rotated refresh token is stored');
      t.deepEqual(
        logs.map((l) => l.event),
        ['credentials.rotation_save_retried'],
      );
      const [{ n }] = await warehouse.db.query(
        sql`SELECT last_value AS n FROM fhir_etl.test_commit_failures`,
      );
      t.is(Number(n), 2, 'the first commit failed, the second went through');
      const state = (await listMembers(warehouse.db, 'payer')).find((m) => m.patientId === patientId);
      t.false(state?.needsLogin);
      t.truthy(state?.refreshedAt);
      const old = await postForm(payer.sandbox.tokenUrl, {
        grant_type: 'refresh_token',
        refresh_token: before.refreshToken!,
        client_id: 'etl-test',
        client_secret: 'etl-test-secret',
      });
      t.is(((await old.json()) as { error: string }).error, 'invalid_grant', 'the server did rotate it');
      const next = await postForm(payer.sandbox.tokenUrl, {
        grant_type: 'refresh_token',
        refresh_token: after.refreshToken!,
        client_id: 'etl-test',
        client_secret: 'etl-test-secret',
      });
      t.is(next.status, 200, 'the stored refresh token is the valid one');
    } finally {
      await warehouse.db.query(sql`DROP TRIGGER test_fail_commit_once ON fhir_etl.credentials`);
      await warehouse.db.query(sql`DROP FUNCTION fhir_etl.test_fail_commit_once()`);
      await warehouse.db.query(sql`DROP SEQUENCE fhir_etl.test_commit_failures`);
    }
  },
);

test.serial(
  'a token endpoint that never answers: the refresh gives up after refreshTimeoutMs and stores nothing',
  async (t) => {
    const { patientId } = await loginAs(warehouse.db, payer, '01-testmemid');
    const member = { source: 'payer', patientId };
    const store = memberTokenStore(warehouse.db, payer.key, member);
    const before = await store.read();
    t.truthy(before.refreshToken);
    const [stateBefore] = (await listMembers(warehouse.db, 'payer')).filter((m) => m.patientId === patientId);
    // A real server that reads the refresh request and never answers it.
    const hanging = await startHttpServer();
    hanging.route('POST', '/token', { hang: true });
    try {
      const source = { ...payer.source, auth: { ...payer.source.auth, tokenUrl: hanging.url('/token') } };
      const client = await loginClient(source, createHttpClient());
      // The deadline passes once the server holds the request (an event, not a clock).
      const arrived = hanging.nextRequest();
      const deadlines: number[] = [];
      const refreshDeadline = (ms: number) => {
        deadlines.push(ms);
        const deadline = new AbortController();
        void arrived.then(() => deadline.abort(new DOMException('deadline passed', 'TimeoutError')));
        return deadline.signal;
      };
      const provider = memberTokenProvider({ client, store, member, refreshTimeoutMs: 100, refreshDeadline });
      const error = await t.throwsAsync(provider.token(), { instanceOf: AuthError });
      t.deepEqual(deadlines, [100], 'the refresh is bounded by refreshTimeoutMs');
      t.is(
        error?.message,
        `refreshing the access token at ${hanging.url('/token')} took longer than 0.1 s; gave up`,
      );
      const sent = hanging.requestsTo('/token');
      t.is(sent.length, 1);
      t.is(new URLSearchParams(sent[0]?.body).get('refresh_token'), before.refreshToken ?? null);

      // Nothing stored: the same tokens, the member not flagged for a new login, not marked refreshed.
      t.deepEqual(await store.read(), before);
      const [stateAfter] = (await listMembers(warehouse.db, 'payer')).filter(
        (m) => m.patientId === patientId,
      );
      t.false(stateAfter?.needsLogin);
      t.falsy(stateAfter?.loginError);
      t.deepEqual(stateAfter?.refreshedAt, stateBefore?.refreshedAt);

      // The row lock was released and the stored refresh token is still good at the real server.
      const accessToken = await (await providerFor(patientId)).token();
      const after = await store.read();
      t.is(accessToken, after.accessToken);
      t.not(after.refreshToken, before.refreshToken, 'the real server rotated it');
    } finally {
      await hanging.close();
    }
  },
);
