import { type Command, Option } from 'commander';
import type { Sandbox } from '../../sandbox/index.ts';

type SandboxModule = typeof import('../../sandbox/index.ts');
import { UsageError } from '../exit-codes.ts';
import { port, positiveInt, seed } from '../option-parsers.ts';
import { renderTable } from '../table.ts';

/**
 * `fhir-etl sandbox`: the local 1up-like server until SIGINT/SIGTERM, and
 * `fhir-etl sandbox generate --out DIR`: the same synthetic data as NDJSON files.
 */
export function registerSandboxCommand(program: Command): void {
  const sandbox = program
    .command('sandbox')
    .description(
      'start a local server that behaves like the 1upHealth Provider Access and Payer-to-Payer APIs',
    )
    .addOption(
      new Option('--port <n>', 'port on 127.0.0.1 (0 = any free port)')
        .default(8975)
        .argParser(port('--port')),
    )
    .addOption(
      new Option('--patients <n>', 'synthetic members (the 4 named test members included)')
        .default(20)
        .argParser(positiveInt('--patients')),
    )
    .addOption(
      new Option('--seed <n>', 'data seed: the same seed gives the same data')
        .default(1)
        .argParser(seed('--seed')),
    )
    .option(
      '--faults <list>',
      'faults to inject: 429,500,410,token-expiry,slow,malformed,truncated-gzip,bad-values',
      '',
    )
    .action(async (options: { port: number; patients: number; seed: number; faults: string }) => {
      // The sandbox (fastify, jose, the data generator) loads only for the commands that serve it.
      const sandboxServer = await import('../../sandbox/index.ts');
      const faults = faultsOption(sandboxServer, options.faults);
      const { startSandbox } = sandboxServer;
      const running = await startSandbox({
        port: options.port,
        patients: options.patients,
        seed: options.seed,
        faults,
      });
      process.stdout.write(`${describeSandbox(sandboxServer, running, options.faults)}\n`);
      await untilSignal();
      await running.close();
    });

  sandbox
    .command('generate')
    .description(
      'write the synthetic data set as one NDJSON file per resource type (uses --patients and --seed)',
    )
    .requiredOption('--out <dir>', 'folder to write into (created if missing)')
    .action(async (options: { out: string }, command: Command) => {
      // --patients and --seed belong to `sandbox` itself, which commander lets appear after `generate`.
      const { patients, seed } = command.optsWithGlobals<{ patients: number; seed: number }>();
      const { writeNdjson } = await import('../../sandbox/index.ts');
      const counts = await writeNdjson(options.out, { patients, seed });
      process.stdout.write(
        `${renderTable(['resource type', 'resources'], Object.entries(counts))}\n\nwrote ${options.out}\n`,
      );
    });
}

/** What a person needs to point a client at the sandbox. */
export function describeSandbox(
  { DEFAULT_CLIENTS, TEST_MEMBERS }: Pick<SandboxModule, 'DEFAULT_CLIENTS' | 'TEST_MEMBERS'>,
  sandbox: Sandbox,
  faults: string,
): string {
  const { provider, payer } = DEFAULT_CLIENTS;
  return [
    `fhir-etl sandbox listening on ${sandbox.url} (Ctrl-C to stop)`,
    '',
    `Provider Access (Bulk Data)  ${sandbox.providerBaseUrl}`,
    `Payer-to-Payer (FHIR R4)     ${sandbox.payerBaseUrl}`,
    `CMS-0057-F prior payer       ${sandbox.p2pBaseUrl}`,
    `token endpoint               ${sandbox.tokenUrl}`,
    `authorize endpoint           ${sandbox.authorizeUrl}`,
    `attribution groups           ${sandbox.groups.map((g) => `${g.id} (NPI ${g.npi})`).join(', ')}`,
    `faults                       ${faults || 'none'}`,
    '',
    `provider client  ${provider.clientId} / ${provider.clientSecret}  (client_credentials, scope "bulk-data|user/*.rs")`,
    `payer client     ${payer.clientId} / ${payer.clientSecret}  (authorization_code + PKCE, redirect ${payer.redirectUris.join(' or ')})`,
    '',
    renderTable(
      ['member', 'member id', 'patient id', 'born', 'postal code'],
      TEST_MEMBERS.map((m, i) => [
        `${m.given} ${m.family}`,
        m.memberId,
        sandbox.members[i]?.patientId ?? '',
        m.birthDate,
        m.postalCode,
      ]),
    ),
  ].join('\n');
}

function faultsOption({ parseFaults }: Pick<SandboxModule, 'parseFaults'>, value: string) {
  try {
    return parseFaults(value);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
