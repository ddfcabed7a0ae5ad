import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { LoadedConfig, RestSourceConfig } from '../../config/index.ts';
import { UsageError } from '../exit-codes.ts';
import { globalOptions, loadConfiguration, withWarehouse } from '../global-options.ts';
import { renderTable } from '../table.ts';

/**
 * `fhir-etl auth login|list|logout`: member logins of FHIR REST (payer) sources. A login is
 * the SMART standalone launch in the member's browser; the tokens are sealed in fhir_etl.
 */
export function registerAuthCommand(program: Command): void {
  const auth = program.command('auth').description('member logins of FHIR REST (payer) sources');

  auth
    .command('login <source>')
    .description('log a member in (authorization code + PKCE) and store their tokens, encrypted')
    .option('--login-hint <member>', 'who is logging in (login_hint; 1up: the member id, e.g. 01-testmemid)')
    .option('--no-browser', 'print the authorize URL instead of opening the browser')
    .option(
      '--paste',
      'type in the URL the browser was redirected to (a redirect URI this machine cannot listen on)',
    )
    .action(
      async (
        name: string,
        options: { loginHint?: string; browser: boolean; paste?: boolean },
        command: Command,
      ) => {
        const config = await loadConfiguration(command);
        const source = restSource(config, name);
        const [{ default: open }, { isLoopback }, { createHttpClient }, { loginMember }, { loadSecretKey }] =
          await Promise.all([
            import('open'),
            import('../../connectors/auth/index.ts'),
            import('../../connectors/http/index.ts'),
            import('../../pipeline/members/login.ts'),
            import('../../pipeline/members/secret-key.ts'),
          ]);
        const paste = options.paste || !isLoopback(source.auth.redirectUri);
        const key = await loadSecretKey(config.secrets, { create: true });
        if (key.created) {
          process.stderr.write(
            `created the key that encrypts member tokens: ${key.origin} (mode 0600). Keep it with the ` +
              `warehouse and back it up: without it the stored logins cannot be read.\n`,
          );
        }
        await withWarehouse(command, async (warehouse) => {
          const login = await loginMember(warehouse.db, source, {
            http: createHttpClient(),
            key,
            loginHint: options.loginHint,
            presentAuthorizationUrl: async (url) => {
              process.stderr.write(`Log the member in at:\n\n  ${url.href}\n\n`);
              if (options.browser) await open(url.href).catch(() => undefined);
              if (!paste) process.stderr.write(`waiting for the browser at ${source.auth.redirectUri} ...\n`);
            },
            ...(paste
              ? { readRedirectedUrl: () => ask('paste the URL the browser was redirected to: ') }
              : {}),
          });
          const expires = login.expiresAt ? new Date(login.expiresAt).toISOString() : 'unknown';
          const who = login.memberId
            ? `member ${login.memberId} (Patient/${login.patientId})`
            : `Patient/${login.patientId} (member id unknown: ${login.memberIdProblem ?? 'not given'}; log out with --patient ${login.patientId})`;
          process.stdout.write(
            `logged in ${who} of ${source.name}: ` +
              `access token until ${expires}, ${login.hasRefreshToken ? 'refresh token stored' : 'NO refresh token (ask for offline_access)'}\n`,
          );
        });
      },
    );

  auth
    .command('list [source]')
    .description('members, patient ids, token expiry, refresh available, needs login')
    .action(async (name: string | undefined, _options, command: Command) => {
      await withWarehouse(command, async (warehouse) => {
        const { listMembers } = await import('../../pipeline/members/members.ts');
        const members = await listMembers(warehouse.db, name);
        if (globalOptions(command).json) {
          process.stdout.write(`${JSON.stringify(members, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          `${renderTable(
            ['source', 'member', 'patient', 'access token until', 'refresh', 'needs login', 'logged in'],
            members.map((m) => [
              m.source,
              m.memberId,
              m.patientId,
              m.accessExpiresAt?.toISOString(),
              m.hasRefreshToken ? 'yes' : 'no',
              m.needsLogin ? `yes: ${m.loginError ?? ''}` : 'no',
              m.loggedInAt?.toISOString(),
            ]),
          )}\n`,
        );
      });
    });

  auth
    .command('logout <source>')
    .description('forget a member: delete the stored tokens (its loaded data and checkpoints stay)')
    .option('--member <id>', 'the member id, as `auth list` shows it (1up: e.g. 01-testmemid)')
    .option('--patient <id>', 'the Patient id instead, for a login whose member id is not known')
    .action(async (name: string, options: { member?: string; patient?: string }, command: Command) => {
      if ((options.member === undefined) === (options.patient === undefined)) {
        throw new UsageError(
          'auth logout needs --member <member id> (or --patient <Patient id>), one of them',
        );
      }
      const config = await loadConfiguration(command);
      restSource(config, name);
      const who = options.member !== undefined ? `member ${options.member}` : `Patient/${options.patient}`;
      await withWarehouse(command, async (warehouse) => {
        const { listMembers, removeMember } = await import('../../pipeline/members/members.ts');
        const removed = await removeMember(
          warehouse.db,
          options.member !== undefined
            ? { source: name, memberId: options.member }
            : { source: name, patientId: options.patient as string },
        );
        if (!removed) {
          const known = (await listMembers(warehouse.db, name)).map(
            (m) => m.memberId ?? `Patient/${m.patientId}`,
          );
          throw new UsageError(
            `no ${who} logged in to ${name} (logged in: ${known.join(', ') || 'nobody'}; \`fhir-etl auth list\`)`,
          );
        }
        process.stdout.write(`logged out ${who} of ${name}: its tokens are deleted\n`);
      });
    });
}

/** The named source, which must be a fhir-rest source. */
export function restSource(config: LoadedConfig, name: string): RestSourceConfig {
  const source = config.sources.find((s) => s.name === name);
  if (!source) {
    const known = config.sources.map((s) => s.name).join(', ') || 'none';
    throw new UsageError(`no source named ${name} in ${config.file ?? 'the config'} (configured: ${known})`);
  }
  if (source.kind !== 'fhir-rest') {
    throw new UsageError(`source ${name} is of kind ${source.kind}: member logins are for kind fhir-rest`);
  }
  return source;
}

async function ask(question: string): Promise<string> {
  const readline = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await readline.question(question);
  } finally {
    readline.close();
  }
}
