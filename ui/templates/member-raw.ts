import type { MemberKey } from '../queries/member-record.ts';
import type { RawSection } from '../queries/member-raw.ts';
import { time } from './format.ts';
import { type Html, html } from './html.ts';
import { provenanceRuns } from './member.ts';

/** The same member's stored FHIR resources, section by section, pretty-printed from fhir_raw. */
export function memberRawPage(options: {
  key: MemberKey;
  name: string;
  handle: string;
  sections: RawSection[];
}): Html {
  const { key, handle } = options;
  return html`<p class="crumbs">
      <a href="/members">Members</a> / <a href="/members/${handle}">${options.name}</a> / raw FHIR
    </p>
    <div class="member-head">
      <h1>${options.name} <small>raw FHIR</small></h1>
      <nav class="toggle" aria-label="View">
        <a href="/members/${handle}" id="rendered-toggle">Rendered</a
        ><a href="/members/${handle}/raw" aria-current="page">Raw FHIR</a>
      </nav>
    </div>
    <p class="note">
      The resources as stored in <code>fhir_raw</code> (source <b>${key.source}</b>), the ones each rendered
      section shows.
    </p>
    ${options.sections.map(
      (s) =>
        html`<section id="${s.section.key}" class="raw-section" data-count="${s.resources.length}">
          <header class="section-head">
            <h2>${s.section.title} <span class="count">${s.resources.length}</span></h2>
            <p class="provenance">
              <code
                >fhir_raw.${s.section.resourceType.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}</code
              >
              from
              <b>${key.source}</b
              >${provenanceRuns([...new Set(s.resources.map((r) => Number(r.run_id)))].sort((a, b) => a - b))}
            </p>
          </header>
          ${
            s.resources.length === 0
              ? html`<p class="empty">None stored.</p>`
              : s.resources.map(
                  (r) =>
                    html`<details
                      class="raw"
                      data-resource-type="${s.section.resourceType}"
                      data-resource-id="${r.id}"
                      ${s.resources.length <= 3 ? html` open` : ''}
                    >
                      <summary>
                        ${s.section.resourceType}/${r.id}
                        <span class="muted"
                          >version ${r.version_id ?? '-'} · updated ${time(r.last_updated)}</span
                        >
                      </summary>
                      <pre><code>${JSON.stringify(r.resource, null, 2)}</code></pre>
                    </details>`,
                )
          }
        </section>`,
    )}`;
}
