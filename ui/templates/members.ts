import type { MemberMatch, MemberSearch } from '../queries/member-search.ts';
import { day } from './format.ts';
import { type Html, html } from './html.ts';

/**
 * The member search. It is a POST form: what is typed (a name, a member id, a birth date)
 * travels in the request body, never in a URL that browsers, proxies or access logs keep.
 */
export function membersPage(options: {
  csrfToken: string;
  search?: MemberSearch;
  matches?: Array<MemberMatch & { handle: string }>;
}): Html {
  const { search, matches } = options;
  return html`<h1>Members</h1>
    <form class="search" method="post" action="/members/search" autocomplete="off">
      <input type="hidden" name="_csrf" value="${options.csrfToken}" />
      <label
        >Name, member id or identifier
        <input type="search" name="q" value="${search?.text ?? ''}" maxlength="200" autofocus
      /></label>
      <label>Birth date <input type="date" name="birth_date" value="${search?.birthDate ?? ''}" /></label>
      <button type="submit">Search</button>
    </form>
    ${matches === undefined ? html`<p class="note">Searches are sent in the request body, so no name, member id or birth date lands in a URL or an access log.</p>` : results(matches)}`;
}

function results(matches: Array<MemberMatch & { handle: string }>): Html {
  if (matches.length === 0) return html`<p class="empty">No member matches.</p>`;
  return html`<table class="results">
      <thead>
        <tr>
          <th>Name</th>
          <th>Member id</th>
          <th>Birth date</th>
          <th>Gender</th>
          <th>Source</th>
        </tr>
      </thead>
      <tbody>
        ${matches.map(
          (m) =>
            html`<tr>
              <td><a href="/members/${m.handle}">${m.full_name ?? '(no name)'}</a></td>
              <td>${m.member_id ?? ''}</td>
              <td>${day(m.birth_date)}</td>
              <td>${m.gender ?? ''}</td>
              <td>${m.source}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <p class="note">
      ${matches.length === 100 ? 'The first 100 matches; narrow the search to see others.' : `${matches.length} ${matches.length === 1 ? 'match' : 'matches'}.`}
    </p>`;
}
