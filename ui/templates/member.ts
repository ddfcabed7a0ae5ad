import type { MemberRecord, Row, SectionRows } from '../queries/member-record.ts';
import { day, money } from './format.ts';
import { type Html, html } from './html.ts';
import { shownValue } from '../../errors/shown-value.ts';

/**
 * A member's record, rendered: every section from the view tables, each saying the source and
 * runs it came from, with a link to the same section's stored FHIR resources.
 */
export function memberPage(record: MemberRecord, handle: string): Html {
  const p = record.patient;
  return html`<p class="crumbs">
      <a href="/members">Members</a> / ${text(p.full_name) || record.key.patientId}
    </p>
    <div class="member-head">
      <h1>${text(p.full_name) || '(no name)'} <small>${text(p.member_id)}</small></h1>
      <nav class="toggle" aria-label="View">
        <a href="/members/${handle}" aria-current="page">Rendered</a
        ><a href="/members/${handle}/raw" id="raw-toggle">Raw FHIR</a>
      </nav>
    </div>
    ${record.sections.map((s) => sectionBlock(s, record, handle))}`;
}

function sectionBlock(s: SectionRows, record: MemberRecord, handle: string): Html {
  return html`<section id="${s.section.key}" class="record" data-count="${s.rows.length}">
    <header class="section-head">
      <h2>${s.section.title} <span class="count">${s.rows.length}</span></h2>
      <p class="provenance">
        from <b>${record.key.source}</b>${provenanceRuns(s.runs)} ·
        <a href="/members/${handle}/raw#${s.section.key}">raw FHIR</a>
      </p>
    </header>
    ${s.rows.length === 0 ? html`<p class="empty">None recorded.</p>` : body(s, record)}
  </section>`;
}

export function provenanceRuns(runs: number[]): Html {
  if (runs.length === 0) return html``;
  return html`, ${runs.length === 1 ? 'run' : 'runs'}
  ${runs.map((id, i) => html`${i > 0 ? ', ' : ''}<a href="/runs/${id}">#${id}</a>`)}`;
}

function body(s: SectionRows, record: MemberRecord): Html {
  switch (s.section.key) {
    case 'demographics':
      return demographics(s.rows[0] ?? {}, record.identifiers);
    case 'coverage':
      return table(
        ['Status', 'Type', 'Payer', 'Plan / group', 'Subscriber id', 'Relationship', 'From', 'To'],
        s.rows,
        (r) => [
          r.status,
          r.type_display ?? r.type_code,
          r.payor_name,
          r.plan_name ?? r.group_name,
          r.subscriber_id ?? r.member_id,
          r.relationship_code,
          day(date(r.period_start)),
          day(date(r.period_end)),
        ],
      );
    case 'encounters':
      return timeline(s.rows);
    case 'conditions':
      return table(['Condition', 'Code', 'Status', 'Onset', 'Abated'], s.rows, (r) => [
        r.display,
        r.code,
        r.clinical_status,
        day(date(r.onset)),
        day(date(r.abatement)),
      ]);
    case 'medications':
      return table(['Medication', 'Status', 'Intent', 'Ordered', 'Dosage'], s.rows, (r) => [
        r.medication_display ?? r.medication_code,
        r.status,
        r.intent,
        day(date(r.authored_on)),
        r.dosage_text,
      ]);
    case 'allergies':
      return table(['Allergy', 'Category', 'Criticality', 'Status', 'Reaction', 'Recorded'], s.rows, (r) => [
        r.display ?? r.code,
        r.category,
        r.criticality,
        r.clinical_status,
        r.reaction_display,
        day(date(r.recorded_date)),
      ]);
    case 'immunizations':
      return table(['Vaccine', 'Status', 'Date'], s.rows, (r) => [
        r.vaccine_display ?? r.vaccine_code,
        r.status,
        day(date(r.occurrence)),
      ]);
    case 'observations':
      return table(['Observation', 'Value', 'Date'], s.rows, (r) => [
        r.display ?? r.code,
        observationValue(r),
        day(date(r.effective)),
      ]);
    case 'claims':
      return claims(s.rows, record);
    default:
      return table(
        [
          'Authorization',
          'Type',
          'Status',
          'Outcome',
          'Created',
          'Service from',
          'Service to',
          'Submitted',
          'Approved',
        ],
        s.rows,
        (r) => [
          r.claim_identifier ?? r.id,
          r.claim_type,
          r.status,
          r.outcome,
          day(date(r.created)),
          day(date(r.billable_period_start)),
          day(date(r.billable_period_end)),
          money(num(r.total_submitted_amount)),
          money(num(r.total_allowed_amount ?? r.total_paid_amount)),
        ],
      );
  }
}

function demographics(p: Row, identifiers: Row[]): Html {
  const address = [p.address_line, p.city, p.state, p.postal_code].filter(Boolean).join(', ');
  const facts: Array<[string, unknown]> = [
    ['Name', p.full_name],
    ['Member id', p.member_id],
    ['Birth date', day(date(p.birth_date))],
    ['Gender', p.gender],
    ['Birth sex', p.birth_sex],
    ['Race', p.race_text],
    ['Ethnicity', p.ethnicity_text],
    ['Address', address],
    ['Phone', p.phone],
    ['Email', p.email],
    ['Language', p.preferred_language],
    [
      'Deceased',
      p.deceased === true ? `yes ${day(date(p.deceased_datetime))}` : p.deceased === false ? 'no' : '',
    ],
  ];
  return html`<div class="demographics">
    <dl class="facts">
      ${facts
        .filter(([, v]) => v !== null && v !== undefined && v !== '')
        .map(
          ([k, v]) =>
            html`<dt>${k}</dt>
              <dd>${text(v)}</dd>`,
        )}
    </dl>
    <div>
      <h3>Identifiers</h3>
      ${table(['Type', 'System', 'Value'], identifiers, (r) => [r.type_text ?? r.type_code, r.system, r.value])}
    </div>
  </div>`;
}

function timeline(rows: Row[]): Html {
  return html`<ol class="timeline">
    ${rows.map(
      (r) =>
        html`<li data-encounter-id="${text(r.id)}">
          <time>${day(date(r.period_start))}</time>
          <div>
            <b>${text(r.type_display) || text(r.class_code) || 'Encounter'}</b>
            <span class="pill">${text(r.class_code)}</span> ${text(r.status)}
            ${r.reason_display ? html`<div class="muted">reason: ${text(r.reason_display)}</div>` : ''}
          </div>
        </li>`,
    )}
  </ol>`;
}

function claims(rows: Row[], record: MemberRecord): Html {
  const paid = rows.reduce((sum, r) => sum + (num(r.total_paid_amount) ?? 0), 0);
  return html`<p class="summary">Paid in all: <b data-claims-paid>${money(paid)}</b></p>
    <table class="claims">
      <thead>
        <tr>
          <th>Claim</th>
          <th>Type</th>
          <th>Service from</th>
          <th>Status</th>
          <th>Payer</th>
          <th class="num">Submitted</th>
          <th class="num">Allowed</th>
          <th class="num">Paid</th>
          <th class="num">Member owes</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map((r) => {
          const detail = record.claims.get(String(r.id));
          return html`<tr data-claim-id="${text(r.id)}">
              <td>${text(r.claim_identifier) || text(r.id)}</td>
              <td>${text(r.claim_type)}</td>
              <td>${day(date(r.billable_period_start))}</td>
              <td>${text(r.status)} ${text(r.outcome)}</td>
              <td>${text(r.insurer_name)}</td>
              <td class="num">${money(num(r.total_submitted_amount))}</td>
              <td class="num">${money(num(r.total_allowed_amount))}</td>
              <td class="num" data-paid="${num(r.total_paid_amount) ?? ''}">
                ${money(num(r.total_paid_amount))}
              </td>
              <td class="num">${money(num(r.total_member_liability_amount))}</td>
            </tr>
            ${
              detail
                ? html`<tr class="claim-detail">
                    <td colspan="9">
                      <details>
                        <summary>
                          ${detail.lines.length} ${detail.lines.length === 1 ? 'line' : 'lines'},
                          ${detail.diagnoses.length}
                          ${detail.diagnoses.length === 1 ? 'diagnosis' : 'diagnoses'}
                        </summary>
                        ${table(
                          ['#', 'Service', 'Date', 'Qty', 'Submitted', 'Allowed', 'Paid'],
                          detail.lines,
                          (l) => [
                            l.sequence,
                            l.service_display ?? l.service_code,
                            day(date(l.service_start)),
                            l.quantity,
                            money(num(l.submitted_amount)),
                            money(num(l.allowed_amount)),
                            money(num(l.paid_amount)),
                          ],
                        )}
                        ${detail.diagnoses.length > 0 ? table(['#', 'Diagnosis', 'Code', 'Type'], detail.diagnoses, (d) => [d.sequence, d.display ?? d.condition_id, d.code, d.type]) : ''}
                      </details>
                    </td>
                  </tr>`
                : ''
            }`;
        })}
      </tbody>
    </table>`;
}

function table(headers: string[], rows: Row[], cells: (row: Row) => unknown[]): Html {
  if (rows.length === 0) return html`<p class="empty">None recorded.</p>`;
  return html`<table>
    <thead>
      <tr>
        ${headers.map((h) => html`<th>${h}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (r) =>
          html`<tr>
            ${cells(r).map((c) => html`<td>${text(c)}</td>`)}
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function observationValue(r: Row): string {
  if (r.value_number !== null && r.value_number !== undefined)
    return `${Number(r.value_number)} ${text(r.unit)}`.trim();
  if (r.value_code_display || r.value_code) return text(r.value_code_display ?? r.value_code);
  if (r.value_boolean !== null && r.value_boolean !== undefined) return r.value_boolean ? 'yes' : 'no';
  return text(r.value_string);
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return day(value);
  return shownValue(value);
}

function date(value: unknown): Date | string | null {
  return value instanceof Date || typeof value === 'string' ? value : null;
}

function num(value: unknown): number | null {
  return value === null || value === undefined || value === '' ? null : Number(value);
}
