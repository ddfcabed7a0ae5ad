import { writeFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { patientReferences, refusal, type SendMember } from '../connectors/send/index.ts';
import { MemberPatientUnknownError, SendRefusedError, sendToMember } from '../pipeline/members/send.ts';
import { patientCompartment } from '../schemas/index.ts';
import { runMain } from './helpers/main.ts';
import { loginAs, usePayer } from './helpers/payer.ts';
import { startTokenServer } from './helpers/token-server.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * `send` never crosses members: every patient a resource references must be the member's
 * Patient, as the server knows it; anything else refuses the whole send before any POST.
 */
const member: SendMember = { memberId: '01-testmemid', patientId: 'pt-1' };
const check = (resource: Record<string, unknown>) =>
  refusal(resource as { resourceType: string }, patientReferences(resource), member);

test('the patient elements come from the R4 Patient compartment', (t) => {
  t.deepEqual(patientCompartment.Condition, ['asserter', 'subject']);
  t.deepEqual(patientCompartment.Coverage, ['beneficiary', 'payor', 'policyHolder', 'subscriber']);
  t.deepEqual(patientCompartment.ExplanationOfBenefit, ['patient', 'payee.party']);
  t.deepEqual(patientCompartment.Group, ['member.entity']);
  t.true(Object.keys(patientCompartment).length >= 60);
});

test('a resource of the member is sent; of another member, or of no one checkable, refused', (t) => {
  t.is(check({ resourceType: 'Condition', subject: { reference: 'Patient/pt-1' } }), undefined);
  t.is(
    check({
      resourceType: 'Condition',
      subject: { reference: 'https://payer.example/r4/Patient/pt-1/_history/3' },
    }),
    undefined,
    'absolute and versioned references name the same Patient',
  );
  t.is(
    check({
      resourceType: 'Condition',
      subject: { reference: 'Patient/pt-1' },
      asserter: { reference: 'Practitioner/dr-1' },
    }),
    undefined,
    'a practitioner in a patient element is no patient',
  );
  t.is(
    check({ resourceType: 'Coverage', beneficiary: { identifier: { value: '01-testmemid' } } }),
    undefined,
    'the member id as identifier',
  );
  t.is(check({ resourceType: 'Patient', id: 'pt-1' }), undefined, "the member's own Patient");

  t.like(check({ resourceType: 'Condition', subject: { reference: 'Patient/pt-000002' } }), {
    reason: 'subject references Patient/pt-000002, not member 01-testmemid (Patient/pt-1)',
    noPatientReference: false,
  });
  t.regex(
    check({
      resourceType: 'Coverage',
      beneficiary: { reference: 'Patient/pt-1' },
      subscriber: { reference: 'Patient/pt-9' },
    })?.reason ?? '',
    /^subscriber references Patient\/pt-9/,
  );
  t.regex(
    check({
      resourceType: 'Appointment',
      participant: [{ actor: { reference: 'Patient/pt-1' } }, { actor: { reference: 'Patient/pt-2' } }],
    })?.reason ?? '',
    /^participant\[1\]\.actor references Patient\/pt-2/,
  );
  t.regex(
    check({ resourceType: 'Condition', subject: { reference: 'urn:uuid:6f1c' } })?.reason ?? '',
    /subject references urn:uuid:6f1c, not member .* cannot be checked/,
  );
  t.regex(
    check({
      resourceType: 'Observation',
      subject: { reference: 'Patient/pt-1' },
      extension: [{ url: 'x', valueReference: { reference: 'Patient/pt-7' } }],
    })?.reason ?? '',
    /extension\[0\]\.valueReference references Patient\/pt-7/,
  );
  t.regex(
    check({
      resourceType: 'Condition',
      contained: [{ resourceType: 'Patient', id: 'p' }],
      subject: { reference: '#p' },
    })?.reason ?? '',
    /subject references a contained Patient/,
  );
  t.like(check({ resourceType: 'Observation', subject: { reference: 'Group/g1' } }), {
    noPatientReference: true,
  });
  t.like(check({ resourceType: 'Organization', name: 'x' }), { noPatientReference: true });
  t.like(check({ resourceType: 'Patient', id: 'pt-2' }), { noPatientReference: true });
});

const warehouse = useTestWarehouse(test);
const payer = usePayer(test);
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-send-member-'));

async function configFile(): Promise<string> {
  const { file: _file, ...config } = payer.config;
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify(config));
  return path;
}

const send = async (...args: string[]) =>
  runMain([
    '--config',
    await configFile(),
    '--database-url',
    warehouse.url,
    'send',
    '--source',
    'payer',
    ...args,
  ]);

test.serial(
  "send --member 01-testmemid of another member's Condition is refused: listed, exit 2, nothing sent",
  async (t) => {
    const [mine, theirs] = payer.sandbox.members;
    const file = join(dir, 'mixed.ndjson');
    await writeFile(
      file,
      [
        {
          resourceType: 'Condition',
          id: 'ok',
          code: { text: 'mine' },
          subject: { reference: `Patient/${mine!.patientId}` },
        },
        {
          resourceType: 'Condition',
          id: 'c2',
          code: { text: 'theirs' },
          subject: { reference: `Patient/${theirs!.patientId}` },
        },
        { resourceType: 'Observation', id: 'o1', code: { text: 'nobody' }, status: 'final' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const posted = payer.sandbox.posted.length;
    const result = await send('--member', '01-testmemid', file);
    t.is(result.code, 2, result.stderr);
    t.regex(
      result.stderr,
      new RegExp(
        `send refused: 2 of 3 resources are not for member 01-testmemid \\(Patient/${mine!.patientId}\\); nothing was sent`,
      ),
    );
    t.regex(
      result.stderr,
      new RegExp(
        `Condition/c2 \\(${file}:2\\): subject references Patient/${theirs!.patientId}, not member 01-testmemid`,
      ),
    );
    t.regex(result.stderr, new RegExp(`Observation/o1 \\(${file}:3\\): references no patient`));
    t.regex(result.stderr, /--allow-no-patient-reference/);
    t.regex(result.stderr, /\[SEND_OTHER_MEMBER\]/);
    t.is(payer.sandbox.posted.length, posted, 'nothing was POSTed');
  },
);

test.serial('a resource with no patient reference goes only with --allow-no-patient-reference', async (t) => {
  const [mine] = payer.sandbox.members;
  const file = join(dir, 'unreferenced.ndjson');
  await writeFile(
    file,
    [
      {
        resourceType: 'Condition',
        id: 'c1',
        code: { text: 'mine again' },
        subject: { reference: `Patient/${mine!.patientId}` },
      },
      { resourceType: 'Observation', id: 'o2', code: { text: 'unreferenced' }, status: 'final' },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );
  const refused = await send('--member', '01-testmemid', file);
  t.is(refused.code, 2);
  const posted = payer.sandbox.posted.length;
  const allowed = await send('--member', '01-testmemid', '--allow-no-patient-reference', file);
  t.is(allowed.code, 0, allowed.stderr);
  t.regex(allowed.stdout, /2 resources: 2 created/);
  t.is(payer.sandbox.posted.length, posted + 2);
  t.true(payer.sandbox.posted.slice(posted).every((p) => p.memberId === '01-testmemid'));
});

test.serial(
  "a send token that names no patient: the member's login says who they are, else nothing is sent",
  async (t) => {
    const tokens = await startTokenServer();
    t.teardown(() => tokens.close());
    const source = { ...payer.source, send: { ...payer.source.send!, tokenUrl: tokens.tokenUrl } };
    const [first, second] = payer.sandbox.members;
    const file = join(dir, 'crossing.ndjson');
    await writeFile(
      file,
      JSON.stringify({
        resourceType: 'Condition',
        code: { text: 'x' },
        subject: { reference: `Patient/${second!.patientId}` },
      }),
    );
    const posted = payer.sandbox.posted.length;
    const unknown = await t.throwsAsync(
      sendToMember(warehouse.db, source, { member: '03-testmemid', paths: [file] }),
      {
        instanceOf: MemberPatientUnknownError,
      },
    );
    t.regex(
      unknown?.message ?? '',
      /cannot tell which Patient member 03-testmemid is on payer: the send token names none/,
    );
    t.is(unknown.kind, 'input');

    await loginAs(warehouse.db, payer, '01-testmemid');
    const refused = await t.throwsAsync(
      sendToMember(warehouse.db, source, { member: '01-testmemid', paths: [file] }),
      {
        instanceOf: SendRefusedError,
      },
    );
    t.regex(
      refused?.message ?? '',
      new RegExp(`not for member 01-testmemid \\(Patient/${first!.patientId}\\)`),
    );
    t.is(payer.sandbox.posted.length, posted);
  },
);
