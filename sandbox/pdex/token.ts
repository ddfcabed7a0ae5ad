import type { FastifyInstance } from 'fastify';
import type { SandboxContext } from '../context.ts';
import { demographics, memberIndexById } from '../data/members.ts';
import { OAuthError } from '../errors.ts';
import { authenticateClient } from '../oauth/client-auth.ts';
import { tokenResponse } from '../oauth/token-endpoint.ts';
import type { Grant } from '../oauth/tokens.ts';
import { smartConfiguration } from '../smart-configuration.ts';
import { consentInEffect } from './consent.ts';
import { type PdexState, P2P_BASE, P2P_TOKEN_PATH } from './state.ts';

/**
 * The Payer-to-Payer authorization server: client credentials only (a secret or SMART Backend
 * Services private_key_jwt). With `patient=<Patient id>` and `patient/...` read scopes it issues
 * a token scoped to that member, only when this client's $member-match matched them and the
 * consent is still in effect; otherwise a system token. Also the discovery documents: SMART
 * configuration and the CapabilityStatement.
 * @see Da Vinci PDex 2.2.0 payertopayerexchange.md ("Request Access Token for Member Access")
 * @see SMART App Launch 2.2.0 backend-services.html
 */
export function registerP2pAuthorization(
  app: FastifyInstance,
  context: SandboxContext,
  pdex: PdexState,
): void {
  const tokenUrl = () => `${context.urls.url}${P2P_TOKEN_PATH}`;

  app.post(P2P_TOKEN_PATH, async (request, reply) => {
    const form = formOf(request.body);
    const client = await authenticateClient(form, request.headers.authorization, {
      clients: context.clients,
      tokens: context.tokens,
      tokenUrl: tokenUrl(),
      // A client signs its assertion by the wall clock, whatever time the sandbox's data is at.
      now: Date.now,
    });
    if (form.grant_type !== 'client_credentials')
      throw new OAuthError(
        'unsupported_grant_type',
        'the Payer-to-Payer API issues client_credentials tokens only',
      );
    if (!client.grantTypes.includes('client_credentials'))
      throw new OAuthError('unauthorized_client', `client ${client.clientId} may not use client_credentials`);
    const scope = form.scope ?? '';
    const grant: Grant =
      form.patient === undefined
        ? { kind: 'system', clientId: client.clientId, scope }
        : memberGrant(context, pdex, client.clientId, form.patient, scope);
    const access = context.tokens.issueAccess(grant, context.options.accessTokenSeconds.clientCredentials);
    return tokenResponse(reply, { access }, context.options.now);
  });

  app.get(`${P2P_BASE}/.well-known/smart-configuration`, async () => ({
    ...smartConfiguration(context),
    token_endpoint: tokenUrl(),
    grant_types_supported: ['client_credentials'],
    scopes_supported: ['system/*.rs', 'system/Group.u', 'patient/*.rs'],
  }));

  app.get(`${P2P_BASE}/metadata`, async () => capabilityStatement(pdex));
}

function memberGrant(
  context: SandboxContext,
  pdex: PdexState,
  clientId: string,
  patient: string,
  scope: string,
): Grant {
  const scopes = scope.split(/\s+/).filter(Boolean);
  if (scopes.length === 0 || !scopes.every((s) => /^patient\/(\*|[A-Z][A-Za-z]+)\.(rs|read)$/.test(s)))
    throw new OAuthError(
      'invalid_scope',
      'a member-scoped token takes patient/<Type>.rs (or .read) scopes only',
    );
  const index = memberIndexById(patient, context.dataset.patients);
  const member = index === undefined ? undefined : pdex.singleMatches.get(clientId)?.get(index);
  if (index === undefined || !member)
    throw new OAuthError(
      'invalid_grant',
      `no $member-match of client ${clientId} matched Patient ${patient}`,
    );
  if (!consentInEffect(member.consentEnd, context.options.now()))
    throw new OAuthError('invalid_grant', `the member's consent ended on ${member.consentEnd}`);
  const person = demographics(context.dataset.seed, index);
  return {
    kind: 'member',
    clientId,
    scope,
    patientIndex: index,
    patientId: person.patientId,
    memberId: person.memberId,
  };
}

function capabilityStatement(pdex: PdexState) {
  const search = (type: string) => ({ type, interaction: [{ code: 'search-type' }] });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        resource: [
          {
            type: 'Group',
            interaction: [{ code: 'read' }],
            operation: [
              {
                name: 'bulk-member-match',
                definition: 'http://hl7.org/fhir/us/davinci-pdex/OperationDefinition/bulk-member-match',
              },
              {
                name: 'davinci-data-export',
                definition: 'http://hl7.org/fhir/us/davinci-atr/OperationDefinition/davinci-data-export',
              },
            ],
          },
          {
            ...search('Patient'),
            operation: [
              {
                name: 'member-match',
                definition: 'http://hl7.org/fhir/us/davinci-hrex/OperationDefinition/member-match',
              },
              ...(pdex.settings.patientExport
                ? [
                    {
                      name: 'export',
                      definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export',
                    },
                  ]
                : []),
            ],
          },
          ...['Coverage', 'AllergyIntolerance', 'Condition', 'Encounter', 'Immunization', 'MedicationRequest']
            .concat(['Observation', 'Procedure', 'ExplanationOfBenefit'])
            .map(search),
        ],
      },
    ],
  };
}

function formOf(body: unknown): Record<string, string | undefined> {
  if (body === null || typeof body !== 'object')
    throw new OAuthError('invalid_request', 'the token request must be application/x-www-form-urlencoded');
  return Object.fromEntries(
    Object.entries(body).map(([key, value]) => [key, typeof value === 'string' ? value : undefined]),
  );
}
