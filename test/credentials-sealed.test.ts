import { sql } from '@databases/pg';
import test from 'ava';
import { memberTokenStore } from '../pipeline/members/credential-store.ts';
import { deriveKey } from '../pipeline/members/secret-key.ts';
import { rows, useTestWarehouse } from './helpers/warehouse.ts';
import { loginAs, usePayer } from './helpers/payer.ts';

const warehouse = useTestWarehouse(test);
const payer = usePayer(test);

test.serial('stored tokens are sealed: neither token appears anywhere in fhir_etl', async (t) => {
  const { patientId } = await loginAs(warehouse.db, payer, '01-testmemid');
  const tokens = await memberTokenStore(warehouse.db, payer.key, { source: 'payer', patientId }).read();
  t.truthy(tokens.accessToken);
  t.truthy(tokens.refreshToken);
  const [credential] = await rows<{ sealed: Buffer; key_id: string }>(
    warehouse.db,
    sql`SELECT sealed, key_id FROM fhir_etl.credentials WHERE patient_id = ${patientId}`,
  );
  for (const secret of [tokens.accessToken, tokens.refreshToken!]) {
    t.false(credential!.sealed.includes(Buffer.from(secret)), 'not in the blob');
    t.false(credential!.sealed.toString('base64').includes(secret));
  }
  t.is(credential!.key_id, payer.key.keyId);
  const [dump] = await rows<{ text: string }>(
    warehouse.db,
    sql`SELECT (SELECT json_agg(m)::text FROM fhir_etl.members m) || (SELECT json_agg(c)::text FROM fhir_etl.credentials c) AS text`,
  );
  t.false(dump!.text.includes(tokens.accessToken));
  t.false(dump!.text.includes(tokens.refreshToken!));
});

test.serial('each write seals with a fresh IV', async (t) => {
  const first = await loginAs(warehouse.db, payer, '02-testmemid');
  const read = () =>
    rows<{ sealed: Buffer }>(
      warehouse.db,
      sql`SELECT sealed FROM fhir_etl.credentials WHERE patient_id = ${first.patientId}`,
    );
  const [before] = await read();
  await loginAs(warehouse.db, payer, '02-testmemid');
  const [after] = await read();
  t.false(before!.sealed.subarray(0, 12).equals(after!.sealed.subarray(0, 12)));
});

test.serial('a blob copied onto another member is refused, not handed to that member', async (t) => {
  const a = await loginAs(warehouse.db, payer, '03-testmemid');
  const b = await loginAs(warehouse.db, payer, '04-testmemid');
  await warehouse.db.query(sql`
    UPDATE fhir_etl.credentials SET sealed = (SELECT sealed FROM fhir_etl.credentials WHERE patient_id = ${a.patientId})
    WHERE patient_id = ${b.patientId}`);
  const error = await t.throwsAsync(
    memberTokenStore(warehouse.db, payer.key, { source: 'payer', patientId: b.patientId }).read(),
  );
  t.is((error as { code?: string }).code, 'CREDENTIAL_UNREADABLE');
  t.regex(error.message, /fhir-etl auth login payer/);
});

test.serial('another key is named as a key change, with what to do', async (t) => {
  const { patientId } = await loginAs(warehouse.db, payer, '01-testmemid');
  const other = { ...deriveKey('a different passphrase', '$OTHER'), created: false };
  const error = await t.throwsAsync(
    memberTokenStore(warehouse.db, other, { source: 'payer', patientId }).read(),
  );
  t.is((error as { code?: string }).code, 'CREDENTIAL_KEY_MISMATCH');
  t.regex(error.message, new RegExp(payer.key.keyId));
});

test('key material: 64 hex digits and base64 are used as is, a passphrase is stretched', (t) => {
  const hex = 'ab'.repeat(32);
  t.deepEqual(deriveKey(hex, 'x').key, Buffer.from(hex, 'hex'));
  const base64 = Buffer.alloc(32, 7).toString('base64');
  t.deepEqual(deriveKey(base64, 'x').key, Buffer.alloc(32, 7));
  const stretched = deriveKey('correct horse battery staple', 'x');
  t.is(stretched.key.length, 32);
  t.deepEqual(stretched.key, deriveKey('correct horse battery staple', 'y').key, 'same passphrase, same key');
});
