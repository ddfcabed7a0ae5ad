import { type Html, html } from './html.ts';

export type ConsoleSection = 'pipeline' | 'members' | 'analytics';

const NAV: Array<[ConsoleSection, string, string]> = [
  ['pipeline', 'Pipeline', '/'],
  ['members', 'Members', '/members'],
  ['analytics', 'Analytics', '/analytics'],
];

/**
 * The page around every section: navigation, the stylesheet, and (only on pages with charts)
 * the charting library and our chart script, all served by the console itself.
 */
export function page(options: {
  title: string;
  section: ConsoleSection;
  body: Html;
  charts?: boolean;
  viewer?: string;
}): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>${options.title} · fhir-etl</title>
        <link rel="stylesheet" href="/assets/console.css" />
        ${
          options.charts
            ? html`<script src="/assets/chart.umd.min.js" defer></script>
                <script src="/assets/charts.js" defer></script>`
            : ''
        }
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/">fhir-etl</a>
          <nav>
            ${NAV.map(([key, label, href]) => html`<a href="${href}" ${key === options.section ? html` aria-current="page"` : ''}>${label}</a>`)}
          </nav>
          <span class="viewer">${options.viewer ? html`signed in: ${options.viewer}` : 'read-only'}</span>
        </header>
        <main>${options.body}</main>
        <footer>Read-only console over the warehouse's read-only role. Member views are audited.</footer>
      </body>
    </html> `;
}

/** A status as a coloured badge. */
export function badge(status: string): Html {
  const tone =
    status === 'succeeded' || status === 'ok'
      ? 'good'
      : status === 'failed' || status === 'late'
        ? 'bad'
        : status === 'running'
          ? 'busy'
          : 'neutral';
  return html`<span class="badge ${tone}">${status}</span>`;
}
