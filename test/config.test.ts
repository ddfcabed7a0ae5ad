import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig, parseConfigText } from '../config/index.ts';

const bulk = `
sources:
  - name: provider
    kind: bulk
    baseUrl: https://fhir.example.org/r4
    auth:
      type: client_credentials
      tokenUrl: https://auth.example.org/token
      clientId: \${CLIENT_ID}
      clientSecret: \${CLIENT_SECRET}
      scope: "bulk-data|user/*.rs"
`;

function problemsOf(fn: () => unknown): Array<{ path: string; message: string }> {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

test('${NAME} takes the environment variable, and the scope is kept verbatim', (t) => {
  const config = parseConfigText(bulk, 'x.yaml', { CLIENT_ID: 'abc', CLIENT_SECRET: 's3cret' });
  const source = config.sources[0];
  if (source?.kind !== 'bulk' || source.auth.type !== 'client_credentials') return t.fail();
  t.is(source.auth.clientId, 'abc');
  t.is(source.auth.clientSecret, 's3cret');
  t.is(source.auth.scope, 'bulk-data|user/*.rs');
  t.is(source.auth.method, 'client_secret_post');
  t.is(source.export.level, 'system');
});

test('a missing variable is reported once, by path, and its value never appears', (t) => {
  const problems = problemsOf(() => parseConfigText(bulk, 'x.yaml', { CLIENT_ID: 'abc' }));
  t.deepEqual(problems, [
    { path: 'sources[0].auth.clientSecret', message: 'environment variable CLIENT_SECRET is not set' },
  ]);
});

test('${NAME:-default} falls back, and $${ writes a literal ${', (t) => {
  const config = parseConfigText(
    'warehouse: { url: "${NO_SUCH_VAR:-postgres://h/db}" }\nviews: ["$${literal}"]',
    '/etc/x.yaml',
    {},
  );
  t.is(config.warehouse.url, 'postgres://h/db');
  t.is(config.views[0], '/etc/${literal}');
});

test('every problem is listed at once, each with its path', (t) => {
  const text = `
sources:
  - name: a
    kind: bulk
    baseUrl: not-a-url
    export: { level: group, concurrency: 0 }
  - name: b
    kind: files
    path: ./land
    schedule: "every day"
  - name: c
    kind: ftp
unknownKey: 1
`;
  const paths = problemsOf(() => parseConfigText(text, 'x.yaml', {})).map((p) => p.path);
  for (const expected of [
    'sources[0].baseUrl',
    'sources[0].export.groupId',
    'sources[0].export.concurrency',
    'sources[1].schedule',
    'sources[2].kind',
    '',
  ]) {
    t.true(paths.includes(expected), `expected a problem at "${expected}" in ${JSON.stringify(paths)}`);
  }
});

test('$davinci-data-export is refused below the Group level', (t) => {
  const problems = problemsOf(() =>
    parseConfigText(
      'sources: [{ name: p, kind: bulk, baseUrl: "https://x/r4", export: { operation: davinci-data-export } }]',
      'x.yaml',
      {},
    ),
  );
  t.is(problems[0]?.path, 'sources[0].export.operation');
});

test('relative paths resolve against the config file, JSON is read too', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fhir-etl-config-'));
  const file = join(dir, 'config.json');
  await writeFile(
    file,
    JSON.stringify({
      views: ['./my-views'],
      sources: [{ name: 'land', kind: 'files', path: 'landing' }],
    }),
  );
  const config = await loadConfig(file, {});
  t.is(config.views[0], join(dir, 'my-views'));
  t.deepEqual(config.sources[0], { name: 'land', kind: 'files', path: join(dir, 'landing') });
  t.is(config.file, file);
});

test('an unreadable file or bad YAML is a ConfigError naming the file', async (t) => {
  const missing = await t.throwsAsync(loadConfig('/no/such/config.yaml', {}), { instanceOf: ConfigError });
  t.regex(missing?.message ?? '', /\/no\/such\/config\.yaml.*no such file/s);
  const bad = t.throws(() => parseConfigText('sources: [', 'bad.yaml', {}), { instanceOf: ConfigError });
  t.regex(bad?.message ?? '', /bad\.yaml.*not valid YAML/s);
});

test('two sources with one name are refused', (t) => {
  const problems = problemsOf(() =>
    parseConfigText(
      'sources: [{ name: a, kind: files, path: x }, { name: a, kind: files, path: y }]',
      'x.yaml',
      {},
    ),
  );
  t.deepEqual(problems, [{ path: 'sources[1].name', message: 'duplicate source name "a"' }]);
});

test('plain http is refused except on this machine: secrets and tokens never cross a network in clear', (t) => {
  const config = (tokenUrl: string) =>
    `sources: [{ name: p, kind: bulk, baseUrl: "https://x/r4", auth: { type: client_credentials, tokenUrl: "${tokenUrl}", clientId: c, clientSecret: s } }]`;
  const problems = problemsOf(() => parseConfigText(config('http://auth.example.org/token'), 'x.yaml', {}));
  t.deepEqual(problems, [
    {
      path: 'sources[0].auth.tokenUrl',
      message: 'must be an https URL (plain http is allowed only for localhost, 127.0.0.1 and [::1])',
    },
  ]);
  t.notThrows(() => parseConfigText(config('http://127.0.0.1:8975/oauth2/token'), 'x.yaml', {}));
  t.notThrows(() => parseConfigText(config('http://localhost:8975/oauth2/token'), 'x.yaml', {}));
});

test('export.tokenHosts takes host names or origins, and refuses anything else by path', (t) => {
  const config = (hosts: string[]) =>
    `sources: [{ name: p, kind: bulk, baseUrl: "https://x/r4", export: { tokenHosts: ${JSON.stringify(hosts)} } }]`;
  t.notThrows(() =>
    parseConfigText(
      config(['cdn.example.org', 'cdn.example.org:8443', 'https://files.example.org']),
      'x.yaml',
      {},
    ),
  );
  const problems = problemsOf(() =>
    parseConfigText(config(['', 'https://', 'https://x.org/path']), 'x.yaml', {}),
  );
  t.deepEqual(
    problems.map((p) => p.path),
    ['sources[0].export.tokenHosts[0]', 'sources[0].export.tokenHosts[1]', 'sources[0].export.tokenHosts[2]'],
  );
});

test('resource types are checked against R4, each misspelling named by path', (t) => {
  const rest = (resources: string) =>
    `sources: [{ name: payer, kind: fhir-rest, baseUrl: "https://x/r4", resources: ${resources}, auth: { type: authorization_code, clientId: c, redirectUri: "http://localhost:8976/callback" } }]`;
  t.notThrows(() => parseConfigText(rest('[Patient, Observation, ExplanationOfBenefit]'), 'x.yaml', {}));
  t.deepEqual(
    problemsOf(() => parseConfigText(rest('[Patient, Observaton, patient]'), 'x.yaml', {})),
    [
      { path: 'sources[0].resources[1]', message: 'Observaton is not an R4 resource type' },
      { path: 'sources[0].resources[2]', message: 'patient is not an R4 resource type' },
    ],
  );
  // Types that are not resources (a datatype, the abstract base) are refused too.
  t.deepEqual(
    problemsOf(() => parseConfigText(rest('[HumanName, DomainResource]'), 'x.yaml', {})).map(
      (p) => p.message,
    ),
    ['HumanName is not an R4 resource type', 'DomainResource is not an R4 resource type'],
  );

  const bulkWith = (exportBlock: string) =>
    `sources: [{ name: p, kind: bulk, baseUrl: "https://x/r4", export: ${exportBlock} }]`;
  t.notThrows(() =>
    parseConfigText(
      bulkWith('{ types: [Patient, Coverage], typeFilters: ["Observation?category=laboratory"] }'),
      'x.yaml',
      {},
    ),
  );
  t.deepEqual(
    problemsOf(() =>
      parseConfigText(
        bulkWith('{ types: [Patient, Coverag], typeFilters: ["Observaton?category=laboratory", "Patient"] }'),
        'x.yaml',
        {},
      ),
    ),
    [
      { path: 'sources[0].export.types[1]', message: 'Coverag is not an R4 resource type' },
      { path: 'sources[0].export.typeFilters[0]', message: 'Observaton is not an R4 resource type' },
      { path: 'sources[0].export.typeFilters[1]', message: 'must look like Type?param=value' },
    ],
  );
});

test('export.until takes only real instants (no month 13, no hour 99)', (t) => {
  const until = (value: string) =>
    `sources: [{ name: p, kind: bulk, baseUrl: "https://x/r4", export: { until: "${value}" } }]`;
  t.notThrows(() => parseConfigText(until('2026-01-31T00:00:00Z'), 'x.yaml', {}));
  for (const bad of ['2026-13-01T00:00:00Z', '2026-01-01T99:00:00Z', '2026-01-01T00:00:00+25:00']) {
    t.deepEqual(
      problemsOf(() => parseConfigText(until(bad), 'x.yaml', {})),
      [{ path: 'sources[0].export.until', message: 'must be a FHIR instant, e.g. 2026-01-31T00:00:00Z' }],
      bad,
    );
  }
});

// Serial tests run before the concurrent ones, so changing the working folder here touches no other test.
test.serial(
  'a default config file that is there but unreadable is a ConfigError, not an empty config',
  async (t) => {
    const cwd = process.cwd();
    const dir = await mkdtemp(join(tmpdir(), 'fhir-etl-default-config-'));
    try {
      process.chdir(dir);
      // Absent: the built-in empty config.
      const empty = await loadConfig(undefined, {});
      t.is(empty.file, undefined);
      t.deepEqual(empty.sources, []);

      // A folder where the file should be (EISDIR).
      await mkdir(DEFAULT_CONFIG_FILE);
      const folder = await t.throwsAsync(loadConfig(undefined, {}), { instanceOf: ConfigError });
      t.regex(
        folder?.message ?? '',
        /^config fhir-etl\.config\.yaml is not valid:\n.*cannot read the file: EISDIR/s,
      );

      // Not readable by this user (EACCES); root reads anything, so only checked as another user.
      if (process.getuid?.() !== 0) {
        const other = await mkdtemp(join(tmpdir(), 'fhir-etl-default-config-'));
        process.chdir(other);
        await writeFile(DEFAULT_CONFIG_FILE, 'sources: []\n');
        await chmod(DEFAULT_CONFIG_FILE, 0o000);
        const denied = await t.throwsAsync(loadConfig(undefined, {}), { instanceOf: ConfigError });
        t.regex(denied?.message ?? '', /fhir-etl\.config\.yaml.*cannot read the file: EACCES/s);
      }
    } finally {
      process.chdir(cwd);
    }
  },
);
