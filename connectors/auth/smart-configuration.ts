import { type HttpClient, HttpError, HttpNetworkError, redactUrl } from '../http/index.ts';
import { SmartConfigurationError } from './errors.ts';

/**
 * The fields of `.well-known/smart-configuration` a client acts on. Only `token_endpoint` is
 * required here (a backend client needs nothing else); the rest are passed on when present.
 *
 * @see SMART App Launch 2.2.0 conformance.html#metadata
 */
export interface SmartConfiguration {
  token_endpoint: string;
  authorization_endpoint?: string;
  grant_types_supported?: string[];
  token_endpoint_auth_methods_supported?: string[];
  token_endpoint_auth_signing_alg_values_supported?: string[];
  scopes_supported?: string[];
  capabilities?: string[];
  code_challenge_methods_supported?: string[];
}

/** `[base]/.well-known/smart-configuration`, whether or not the base URL ends in a slash. */
export function smartConfigurationUrl(fhirBaseUrl: string): string {
  return `${fhirBaseUrl.replace(/\/+$/, '')}/.well-known/smart-configuration`;
}

/**
 * Reads the server's SMART configuration: where to get tokens (and authorize), and what it
 * supports. Failures name the URL and suggest configuring the token URL instead.
 *
 * @see SMART App Launch 2.2.0 conformance.html#using-well-known
 */
export async function discoverSmartConfiguration(
  fhirBaseUrl: string,
  http: HttpClient,
  signal?: AbortSignal,
): Promise<SmartConfiguration> {
  const url = smartConfigurationUrl(fhirBaseUrl);
  let response: Response;
  try {
    response = await smartConfigurationRequest(url, http, signal);
  } catch (error) {
    if (error instanceof HttpError || error instanceof HttpNetworkError) {
      throw new SmartConfigurationError(redactUrl(url), `cannot be read (${error.message})`, error);
    }
    throw error;
  }
  return processSmartConfigurationResponse(response, url);
}

/** GET the well-known document (retried like any request by the client). */
export function smartConfigurationRequest(
  url: string,
  http: HttpClient,
  signal?: AbortSignal,
): Promise<Response> {
  return http.request(url, { headers: { accept: 'application/json' }, signal });
}

/**
 * Validates a SMART configuration response: a JSON object whose `token_endpoint` is a URL (a
 * relative one is resolved against the document's URL). Network-free, for tests and reuse.
 */
export async function processSmartConfigurationResponse(
  response: Response,
  url: string,
): Promise<SmartConfiguration> {
  const where = redactUrl(url);
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    throw new SmartConfigurationError(where, 'is not JSON', error);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SmartConfigurationError(where, 'is not a JSON object');
  }
  const document = body as Record<string, unknown>;
  const tokenEndpoint = document.token_endpoint;
  if (typeof tokenEndpoint !== 'string' || tokenEndpoint === '') {
    throw new SmartConfigurationError(where, 'has no token_endpoint: set auth.tokenUrl in the config');
  }
  return {
    ...(document as Partial<SmartConfiguration>),
    token_endpoint: endpointUrl(tokenEndpoint, url, 'token_endpoint'),
    authorization_endpoint:
      typeof document.authorization_endpoint === 'string'
        ? endpointUrl(document.authorization_endpoint, url, 'authorization_endpoint')
        : undefined,
  };
}

function endpointUrl(value: string, documentUrl: string, field: string): string {
  try {
    return new URL(value, documentUrl).href;
  } catch (error) {
    throw new SmartConfigurationError(redactUrl(documentUrl), `${field} is not a URL`, error);
  }
}
