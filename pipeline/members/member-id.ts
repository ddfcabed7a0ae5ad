import type { HttpClient } from '../../connectors/http/index.ts';
import { errorMessage } from '../../errors/index.ts';

/** HL7 v2 table 0203, identifier type: `MB` is the member number. */
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

interface Identifier {
  use?: unknown;
  type?: { coding?: Array<{ system?: unknown; code?: unknown }> };
  value?: unknown;
}

/**
 * The member id of a Patient: its identifier typed v2-0203 `MB` (Member Number), as the CARIN
 * Blue Button and PDex Patient profiles carry it; a former number (`use: old`) is passed over.
 * @see CARIN BB 2.0.0 StructureDefinition-C4BB-Patient (identifier:memberidentifier)
 */
export function memberIdOf(patient: unknown): string | undefined {
  const identifiers = (patient as { identifier?: unknown } | null)?.identifier;
  if (!Array.isArray(identifiers)) return undefined;
  const member = (identifiers as Identifier[]).find(
    (identifier) =>
      identifier?.use !== 'old' &&
      typeof identifier?.value === 'string' &&
      identifier.type?.coding?.some((coding) => coding?.system === V2_0203 && coding?.code === 'MB'),
  );
  return member?.value as string | undefined;
}

/**
 * Reads the member's own Patient with their fresh access token and returns its member id, or
 * why it could not: a login never fails for it (the tokens are good), it only lacks the id.
 * @see SMART App Launch 2.2.0 scopes-and-launch-context.html#launch-context-arrives-with-your-access_token (patient)
 */
export async function readMemberId(
  http: HttpClient,
  request: { baseUrl: string; patientId: string; accessToken: string },
): Promise<{ memberId: string } | { problem: string }> {
  const url = `${request.baseUrl.replace(/\/+$/, '')}/Patient/${encodeURIComponent(request.patientId)}`;
  try {
    const { body } = await http.json(url, {
      headers: { accept: 'application/fhir+json' },
      auth: {
        provider: { token: () => Promise.resolve(request.accessToken), invalidate: () => undefined },
        allowedOrigins: [new URL(request.baseUrl).origin],
      },
    });
    const memberId = memberIdOf(body);
    return memberId === undefined
      ? { problem: `Patient/${request.patientId} has no member identifier (type v2-0203 MB)` }
      : { memberId };
  } catch (error) {
    return { problem: `could not read Patient/${request.patientId}: ${errorMessage(error)}` };
  }
}
