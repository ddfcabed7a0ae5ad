import type { Command } from 'commander';
import type { SendOutcome } from '../../connectors/send/index.ts';
import { EXIT } from '../exit-codes.ts';
import { globalOptions, loadConfiguration, withWarehouse } from '../global-options.ts';
import { restSource } from './auth.ts';

/**
 * `fhir-etl send --source NAME --member MEMBER PATH...`: POST the resources of NDJSON or Bundle
 * files to the source's FHIR server for one member. Exit 0 only when every resource went; 2
 * (nothing sent) when a resource is not the member's.
 */
export function registerSendCommand(program: Command): void {
  program
    .command('send <paths...>')
    .description(
      'POST FHIR resources (NDJSON or Bundle JSON files) for one member, without ever duplicating one',
    )
    .requiredOption('--source <name>', 'the fhir-rest source whose server receives them (its send: block)')
    .requiredOption(
      '--member <id>',
      'the member id the resources belong to (1up: e.g. 01-testmemid); every resource must reference their Patient',
    )
    .option(
      '--allow-no-patient-reference',
      "also send resources that reference no patient (nothing in them shows whose they are): only when they are the member's",
      false,
    )
    .option(
      '--resend-pending',
      'POST again the plain creates an earlier send could not confirm (they may exist on the server already)',
      false,
    )
    .action(
      async (
        paths: string[],
        options: { source: string; member: string; allowNoPatientReference: boolean; resendPending: boolean },
        command: Command,
      ) => {
        const { json } = globalOptions(command);
        const config = await loadConfiguration(command);
        const source = restSource(config, options.source);
        const { sendToMember } = await import('../../pipeline/members/send.ts');
        await withWarehouse(command, async (warehouse) => {
          const outcomes = await sendToMember(warehouse.db, source, {
            member: options.member,
            paths,
            resendPending: options.resendPending,
            allowNoPatientReference: options.allowNoPatientReference,
            onOutcome: (outcome) =>
              process.stdout.write(json ? `${JSON.stringify(outcome)}\n` : `${describeOutcome(outcome)}\n`),
          });
          const failed = outcomes.filter((o) => o.status === 'failed').length;
          if (!json) process.stdout.write(`${summary(outcomes)}\n`);
          process.exitCode = failed === 0 ? EXIT.ok : EXIT.failed;
        });
      },
    );
}

function describeOutcome(outcome: SendOutcome): string {
  const what = `${outcome.resourceType}${outcome.localId ? `/${outcome.localId}` : ''} (${outcome.origin})`;
  switch (outcome.status) {
    case 'created':
      return `created         ${what} -> ${outcome.serverId ?? outcome.location ?? '?'}`;
    case 'existed':
      return `already existed ${what} -> ${outcome.serverId ?? outcome.location ?? '?'}`;
    case 'skipped':
      return `skipped         ${what}: accepted before (in the send ledger)`;
    case 'failed':
      return `FAILED          ${what}: ${outcome.error}`;
  }
}

function summary(outcomes: SendOutcome[]): string {
  const count = (status: SendOutcome['status']) => outcomes.filter((o) => o.status === status).length;
  return (
    `${outcomes.length} resources: ${count('created')} created, ${count('existed')} already existed, ` +
    `${count('skipped')} skipped, ${count('failed')} failed`
  );
}
