import { FhirRequestError } from '../errors.ts';
import type { Submitted } from './matching.ts';

/**
 * A member as a match request submits it: the MemberPatient, CoverageToMatch and Consent
 * resources (CoverageToLink is read but not needed to match), and what matching reads of them.
 * @see Da Vinci PDex 2.2.0 pdex-parameters-multi-member-match-bundle-in; HRex hrex-parameters-member-match-in
 */

export interface Submission {
  patient: Record<string, unknown>;
  coverage: Record<string, unknown>;
  consent: Record<string, unknown> | undefined;
  coverageToLink: Record<string, unknown> | undefined;
  submitted: Submitted;
}

interface Part {
  name?: unknown;
  resource?: Record<string, unknown>;
  part?: Part[];
}

/** Every MemberBundle of a $bulk-member-match body; 400 when there is none or one lacks a required part. */
export function memberBundles(body: unknown): Submission[] {
  const parameters = parametersOf(body);
  const bundles = parameters.filter((p) => p.name === 'MemberBundle');
  if (bundles.length === 0)
    throw new FhirRequestError(400, 'required', 'the request has no MemberBundle parameter');
  return bundles.map((bundle, i) => submission(bundle.part ?? [], `MemberBundle ${i + 1}`));
}

/** The one member of a $member-match body. */
export function singleSubmission(body: unknown): Submission {
  return submission(parametersOf(body), 'the request');
}

function parametersOf(body: unknown): Part[] {
  const resource = (typeof body === 'string' ? safeJson(body) : body) as {
    resourceType?: unknown;
    parameter?: unknown;
  };
  if (resource?.resourceType !== 'Parameters' || !Array.isArray(resource.parameter))
    throw new FhirRequestError(400, 'invalid', 'the body must be a Parameters resource');
  return resource.parameter as Part[];
}

function submission(parts: Part[], where: string): Submission {
  const resource = (name: string, type: string, required: boolean) => {
    const found = parts.find((p) => p.name === name)?.resource;
    if (found === undefined && !required) return undefined;
    if (found?.resourceType !== type)
      throw new FhirRequestError(400, 'required', `${where} has no ${name} ${type} resource`);
    return found;
  };
  const patient = resource('MemberPatient', 'Patient', true) as Record<string, unknown>;
  const coverage = resource('CoverageToMatch', 'Coverage', true) as Record<string, unknown>;
  const consent = resource('Consent', 'Consent', false);
  const coverageToLink = resource('CoverageToLink', 'Coverage', false);
  const name = (patient.name as Array<{ family?: string; given?: string[] }> | undefined)?.[0];
  const identifiers =
    (coverage.identifier as Array<{ type?: { coding?: Array<{ code?: string }> }; value?: string }>) ?? [];
  const memberId =
    identifiers.find((i) => i.type?.coding?.some((c) => c.code === 'MB'))?.value ??
    (typeof coverage.subscriberId === 'string' ? coverage.subscriberId : undefined);
  return {
    patient,
    coverage,
    consent,
    coverageToLink,
    submitted: {
      ...(name?.family === undefined ? {} : { family: name.family }),
      ...(name?.given?.[0] === undefined ? {} : { given: name.given[0] }),
      ...(typeof patient.birthDate === 'string' ? { birthDate: patient.birthDate } : {}),
      ...(typeof patient.gender === 'string' ? { gender: patient.gender } : {}),
      ...(memberId === undefined ? {} : { memberId }),
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
