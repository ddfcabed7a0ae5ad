import type { BearerAuth, HttpClient } from '../http/index.ts';

/**
 * Whether the server offers `Patient/$export`, by its CapabilityStatement: an `export`
 * operation on the Patient resource, or a system operation whose definition is the Bulk Data
 * patient-export OperationDefinition. PDex: retrieval "SHOULD use the FHIR Bulk Data Patient
 * Level Export" when the data holder makes it available.
 *
 * @see Da Vinci PDex 2.2.0 payertopayerexchange.md (Data Retrieval Methods)
 * @see FHIR R4 capabilitystatement.html (rest.resource.operation, rest.operation)
 */
export async function offersPatientExport(
  client: HttpClient,
  baseUrl: string,
  options: { auth?: BearerAuth; signal?: AbortSignal },
): Promise<boolean> {
  const { body } = await client.json(`${baseUrl.replace(/\/+$/, '')}/metadata`, options);
  return capabilityOffersPatientExport(body);
}

interface Operation {
  name?: unknown;
  definition?: unknown;
}

export function capabilityOffersPatientExport(statement: unknown): boolean {
  const rest = (statement as { rest?: Array<Record<string, unknown>> } | undefined)?.rest ?? [];
  const isExport = (op: Operation) =>
    op.name === 'export' ||
    (typeof op.definition === 'string' && /OperationDefinition\/patient-export(\|.*)?$/.test(op.definition));
  return rest.some((r) => {
    const patient = (r.resource as Array<{ type?: unknown; operation?: Operation[] }> | undefined)?.find(
      (resource) => resource.type === 'Patient',
    );
    if (patient?.operation?.some(isExport)) return true;
    return ((r.operation as Operation[] | undefined) ?? []).some(
      (op) => typeof op.definition === 'string' && /patient-export/.test(op.definition),
    );
  });
}
