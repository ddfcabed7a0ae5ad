import { z } from 'zod';
import { INSTANT_PATTERN, R4_RESOURCE_TYPES } from '../transforms/ndjson/index.ts';

/**
 * The config file (`fhir-etl.config.yaml`, YAML or JSON): the warehouse, the sources and the
 * views. Every field is checked before any work starts; unknown keys are refused so a typo
 * never silently falls back to a default.
 */

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * An https URL; plain http only on this machine (the sandbox, a callback listener): secrets and
 * bearer tokens are sent to these URLs, and never in clear text over a network.
 */
const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .refine((url) => !url.startsWith('http:') || isLoopback(url), {
    message: 'must be an https URL (plain http is allowed only for localhost, 127.0.0.1 and [::1])',
  });

function isLoopback(url: string): boolean {
  try {
    return LOOPBACK_HOSTS.has(new URL(url).hostname);
  } catch {
    return true; // not a URL at all: the url check above reports it
  }
}

/** A host (`cdn.example.org`, `cdn.example.org:8443`) or an origin (`https://cdn.example.org`). */
const tokenHost = z
  .string()
  .refine(
    (value) =>
      /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/i.test(value) ||
      isOrigin(value),
    { message: 'must be a host name (cdn.example.org) or an origin (https://cdn.example.org)' },
  );

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return /^https?:$/.test(url.protocol) && `${url.protocol}//${url.host}` === value.replace(/\/$/, '');
  } catch {
    return false;
  }
}
/**
 * An R4 resource type, checked against the model (a misspelt type would otherwise reach the
 * server as a request it refuses, which the REST connector reports as a type it may not read).
 */
const resourceType = z.string().superRefine((value, ctx) => {
  if (!R4_RESOURCE_TYPES.has(value))
    ctx.addIssue({ code: 'custom', message: `${value} is not an R4 resource type` });
});
/** A `_typeFilter` entry: `Type?param=value`, its type an R4 resource type. */
const typeFilter = z
  .string()
  .regex(/^[A-Za-z]+\?.+/, 'must look like Type?param=value')
  .superRefine((value, ctx) => {
    const type = /^([A-Za-z]+)\?./.exec(value)?.[1];
    if (type !== undefined && !R4_RESOURCE_TYPES.has(type))
      ctx.addIssue({ code: 'custom', message: `${type} is not an R4 resource type` });
  });
/** A FHIR instant, the same pattern the loader checks meta.lastUpdated with. */
const instant = z.string().regex(INSTANT_PATTERN, 'must be a FHIR instant, e.g. 2026-01-31T00:00:00Z');
/** A PostgreSQL role name as written unquoted (it is quoted in every statement anyway). */
const roleName = z.string().regex(/^[a-z_][a-z0-9_$]*$/, 'must be a lower-case role name, e.g. bi_reader');
const cron = z
  .string()
  .regex(/^\s*\S+(\s+\S+){4,5}\s*$/, 'must be a cron expression of 5 or 6 fields, e.g. "0 2 * * *"');

/** Client credentials with a shared secret (client_secret_post or client_secret_basic). */
export const clientCredentialsAuth = z.strictObject({
  type: z.literal('client_credentials'),
  tokenUrl: httpUrl,
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  /** How the secret is sent: in the form body (post) or an HTTP Basic header (basic). */
  method: z.enum(['client_secret_post', 'client_secret_basic']).default('client_secret_post'),
  /** Sent exactly as written (1up's `bulk-data|user/*.rs` is not a SMART scope, and that is fine). */
  scope: z.string().optional(),
});

/** SMART Backend Services: a signed JWT assertion (private_key_jwt) instead of a secret. */
export const backendServicesAuth = z.strictObject({
  type: z.literal('backend_services'),
  /** Omitted: read from `<baseUrl>/.well-known/smart-configuration`. */
  tokenUrl: httpUrl.optional(),
  clientId: z.string().min(1),
  /** A PEM (PKCS#8) file or a JWKS file holding the private key. */
  privateKeyFile: z.string().min(1),
  /** The key id registered with the server; read from the JWKS when omitted there. */
  kid: z.string().optional(),
  algorithm: z.enum(['RS384', 'ES384']).default('RS384'),
  scope: z.string().default('system/*.rs'),
});

/** Authorization code with PKCE (SMART standalone launch), for member-authorized payer reads. */
export const authorizationCodeAuth = z.strictObject({
  type: z.literal('authorization_code'),
  /** Omitted: read from `<baseUrl>/.well-known/smart-configuration`. */
  authorizeUrl: httpUrl.optional(),
  tokenUrl: httpUrl.optional(),
  clientId: z.string().min(1),
  /** Omitted for a public client. */
  clientSecret: z.string().min(1).optional(),
  method: z.enum(['client_secret_post', 'client_secret_basic']).default('client_secret_basic'),
  redirectUri: httpUrl,
  scope: z.string().default('launch/patient openid fhirUser offline_access patient/*.rs'),
  /** Sent as `aud`; defaults to the source's baseUrl. */
  audience: z.string().optional(),
});

export const noAuth = z.strictObject({ type: z.literal('none') });

export const bulkAuth = z.discriminatedUnion('type', [clientCredentialsAuth, backendServicesAuth, noAuth]);

/** What a Bulk Data kick-off asks for. @see Bulk Data STU2 export.html#query-parameters */
export const bulkExport = z
  .strictObject({
    level: z.enum(['system', 'patient', 'group']).default('system'),
    groupId: z.string().min(1).optional(),
    /** `$export` (HL7 Bulk Data) or `$davinci-data-export` (Da Vinci PDex / ATR, POST only). */
    operation: z.enum(['export', 'davinci-data-export']).default('export'),
    /** PDex exportType, e.g. hl7.fhir.us.davinci-pdex#provider-delta. */
    exportType: z.string().optional(),
    method: z.enum(['GET', 'POST']).default('GET'),
    types: z.array(resourceType).optional(),
    typeFilters: z.array(typeFilter).optional(),
    elements: z.array(z.string()).optional(),
    /** Patient references for a POST kick-off, e.g. Patient/123. */
    patients: z.array(z.string()).optional(),
    outputFormat: z.string().default('application/fhir+ndjson'),
    /**
     * `_until` (Bulk Data STU3, Da Vinci ATR): only what changed up to this instant. The
     * export then checkpoints this value instead of its transactionTime.
     */
    until: instant.optional(),
    /** Hosts (other than the FHIR server's) that may receive the bearer token, e.g. a CDN. */
    tokenHosts: z.array(tokenHost).default([]),
    /** Output files downloaded and loaded at once. */
    concurrency: z.number().int().min(1).max(32).default(4),
    /** Cap on the wait between status polls, whatever Retry-After asks for. */
    maxPollIntervalSeconds: z.number().positive().default(120),
    /**
     * `hold` (default): issues of severity error or fatal in the manifest's error files (resources
     * the server failed to export) fail the run and keep the checkpoint where it was, so the next
     * run asks for them again. `record`: keep them in fhir_etl.bulk_errors and advance anyway, for
     * a server that fails the same resource on every export.
     */
    errorIssues: z.enum(['hold', 'record']).default('hold'),
    /** Give up on an export after this long. */
    timeoutMinutes: z
      .number()
      .positive()
      .default(24 * 60),
  })
  .refine((e) => e.level !== 'group' || e.groupId !== undefined, {
    message: 'groupId is required when level is group',
    path: ['groupId'],
  })
  .refine((e) => e.operation !== 'davinci-data-export' || e.level === 'group', {
    message: '$davinci-data-export is a Group operation: set level: group',
    path: ['operation'],
  });

const sourceCommon = {
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'must be letters, digits, - or _'),
  /** A cron expression (node-cron, 5 or 6 fields) for `fhir-etl schedule`. */
  schedule: cron.optional(),
  timezone: z.string().optional(),
};

export const bulkSource = z.strictObject({
  ...sourceCommon,
  kind: z.literal('bulk'),
  baseUrl: httpUrl,
  export: bulkExport.default({
    level: 'system',
    operation: 'export',
    method: 'GET',
    outputFormat: 'application/fhir+ndjson',
    tokenHosts: [],
    errorIssues: 'hold',
    concurrency: 4,
    maxPollIntervalSeconds: 120,
    timeoutMinutes: 1440,
  }),
  auth: bulkAuth.default({ type: 'none' }),
});

export const restSource = z.strictObject({
  ...sourceCommon,
  kind: z.literal('fhir-rest'),
  baseUrl: httpUrl,
  resources: z.array(resourceType).min(1),
  /** Page size asked for with `_count`. */
  pageSize: z.number().int().min(1).max(1000).default(100),
  /** Members read at once. */
  concurrency: z.number().int().min(1).max(32).default(4),
  auth: authorizationCodeAuth,
  /** The send side (`fhir-etl send`): how a member-scoped send token is obtained. */
  send: z
    .strictObject({
      tokenUrl: httpUrl.optional(),
      clientId: z.string().min(1),
      clientSecret: z.string().min(1),
      method: z.enum(['client_secret_post', 'client_secret_basic']).default('client_secret_post'),
      scope: z.string().default('patient/*.c'),
      /** Sent as a form parameter naming the member the token is for. */
      memberParameter: z.string().default('patient'),
    })
    .optional(),
});

/** A landing folder of NDJSON files (dropped by SFTP, a cloud sync, another job), loaded on schedule. */
export const filesSource = z.strictObject({
  ...sourceCommon,
  kind: z.literal('files'),
  path: z.string().min(1),
});

/** An Organization known by an identifier (an NPI by default) and a name: a payer in an exchange. */
const payerIdentity = z.strictObject({
  system: z.string().min(1).default('http://hl7.org/fhir/sid/us-npi'),
  value: z.string().min(1),
  name: z.string().min(1),
});

/**
 * The search parameter that bounds each type by date of service, for the first pull's lookback
 * (`_typeFilter=Encounter?date=ge<from>`, ...): US Core and CARIN BB search parameters.
 * @see /work/shared/reference/standards.md section 1.2 (data window and filtering)
 */
export const DATE_OF_SERVICE_PARAMETERS: Readonly<Record<string, string>> = {
  Encounter: 'date',
  Condition: 'onset-date',
  Observation: 'date',
  Procedure: 'date',
  MedicationRequest: 'authoredon',
  Immunization: 'date',
  ExplanationOfBenefit: 'service-date',
};

/**
 * A CMS-0057-F Payer-to-Payer exchange with a prior (or concurrent) payer: the members are
 * matched (`$bulk-member-match`, or `$member-match` one at a time in `single` mode), then the
 * matched members' data is pulled (`$davinci-data-export` #payertopayer with a date-of-service
 * lookback first and `_since` after; `Patient/$export` or searches in single mode).
 * @see Da Vinci PDex 2.2.0 payertopayerbulkexchange.md, payertopayerexchange.md
 */
export const payerExchangeSource = z
  .strictObject({
    ...sourceCommon,
    kind: z.literal('payer-exchange'),
    /** The prior payer's FHIR base URL. */
    baseUrl: httpUrl,
    /** SMART Backend Services (what PDex asks for), a client secret, or none (a local sandbox). */
    auth: bulkAuth,
    /** `bulk`: $bulk-member-match then $davinci-data-export; `single`: $member-match per member. */
    mode: z.enum(['bulk', 'single']).default('bulk'),
    /** This payer: the Consent's recipient and the payor of CoverageToLink. */
    requestingPayer: payerIdentity,
    /** The prior payer, for member rows that do not name it (old_payer_id / old_payer_name). */
    priorPayer: payerIdentity.optional(),
    /** Where the members come from: a CSV or NDJSON file, or a SQL query on the warehouse. */
    members: z.union(
      [
        z.strictObject({ file: z.string().min(1), format: z.enum(['csv', 'ndjson']).optional() }),
        z.strictObject({ query: z.string().min(1) }),
      ],
      { error: 'must be { file: PATH } (CSV or NDJSON) or { query: SQL }' },
    ),
    /**
     * Consent.sourceReference: where this payer keeps each member's signed opt-in, `{member}`
     * replaced by the member id (HRex Consent requires it, for audit).
     */
    consentDocument: z.string().includes('{member}', { message: 'must contain {member}' }),
    match: z
      .strictObject({
        /** A matched Group older than this is matched again before the next pull (PDex suggests 30 days). */
        maxGroupAgeDays: z.number().positive().default(30),
        /**
         * Members per `$bulk-member-match` request: a large list goes in batches of this size, each
         * recorded as it completes, so a stopped run sends only the members not yet answered.
         */
        batchSize: z.number().int().min(1).default(1000),
        maxPollIntervalSeconds: z.number().positive().default(120),
        timeoutMinutes: z
          .number()
          .positive()
          .default(24 * 60),
      })
      .prefault({}),
    export: z
      .strictObject({
        /** The first pull asks for this many years of data by date of service (CMS-0057-F: at least 5). */
        lookbackYears: z.number().int().min(1).default(5),
        /** Per type, the date-of-service search parameter the lookback `_typeFilter` uses. */
        dateOfService: z.record(z.string(), z.string().min(1)).default({ ...DATE_OF_SERVICE_PARAMETERS }),
        /**
         * Filters OR-ed with a type's lookback filter on the first pull: what it brings whatever
         * its date of service (prior authorizations: the prior payer limits them to active ones
         * and those changed in the last year).
         */
        include: z.array(typeFilter).default(['ExplanationOfBenefit?use=preauthorization']),
        types: z.array(resourceType).optional(),
        tokenHosts: z.array(tokenHost).default([]),
        concurrency: z.number().int().min(1).max(32).default(4),
        maxPollIntervalSeconds: z.number().positive().default(120),
        timeoutMinutes: z
          .number()
          .positive()
          .default(24 * 60),
        errorIssues: z.enum(['hold', 'record']).default('hold'),
      })
      .prefault({}),
    /** Single mode: how a matched member's data is read with the member-scoped token. */
    single: z
      .strictObject({
        /** `auto`: Patient/$export when the CapabilityStatement offers it, else searches. */
        pull: z.enum(['auto', 'export', 'search']).default('auto'),
        resources: z
          .array(resourceType)
          .default([
            'Patient',
            'Coverage',
            'AllergyIntolerance',
            'Condition',
            'Encounter',
            'Immunization',
            'MedicationRequest',
            'Observation',
            'Procedure',
            'ExplanationOfBenefit',
          ]),
        /** The scope of the member-scoped token. */
        scope: z.string().default('patient/*.rs'),
        /** The token request's form parameter naming the matched member (its MemberId). */
        patientParameter: z.string().min(1).default('patient'),
        pageSize: z.number().int().min(1).max(1000).default(100),
      })
      .prefault({}),
  })
  .superRefine((s, ctx) => {
    for (const type of Object.keys(s.export.dateOfService)) {
      if (!R4_RESOURCE_TYPES.has(type))
        ctx.addIssue({
          code: 'custom',
          message: `${type} is not an R4 resource type`,
          path: ['export', 'dateOfService', type],
        });
    }
    s.export.include.forEach((filter, i) => {
      const type = filter.slice(0, filter.indexOf('?'));
      if (!(type in s.export.dateOfService))
        ctx.addIssue({
          code: 'custom',
          message: `${type} has no dateOfService parameter: an include filter would narrow it instead of widening its lookback`,
          path: ['export', 'include', i],
        });
    });
  });

export const source = z.discriminatedUnion('kind', [
  bulkSource,
  restSource,
  filesSource,
  payerExchangeSource,
]);

export const configSchema = z
  .strictObject({
    warehouse: z
      .strictObject({
        /** Omitted: $DATABASE_URL, else the embedded PostgreSQL. */
        url: z.string().min(1).optional(),
        schema: z
          .string()
          .regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case SQL identifier')
          .default('fhir'),
        /**
         * Roles that read the warehouse (BI tools, analysts): granted on every run, see
         * `fhir-etl db grant-read`. `{ role, raw: true }` also reads fhir_raw.
         */
        readers: z
          .array(
            z.union(
              [
                roleName.transform((role) => ({ role, raw: false })),
                z.strictObject({ role: roleName, raw: z.boolean().default(false) }),
              ],
              {
                error: 'must be a role name or { role: NAME, raw: true }',
              },
            ),
          )
          .default([]),
        /** The read-only URL of a warehouse of your own (a role granted with grant-read), for BI tools and the web console. */
        readerUrl: z.string().min(1).optional(),
      })
      .default({ schema: 'fhir', readers: [] }),
    sources: z.array(source).default([]),
    /** Folders of the user's own ViewDefinitions, loaded beside the shipped ones. */
    views: z.array(z.string()).default([]),
    /** Every load (`run`, `schedule`, `load`): a file with more rejects and value errors than `maxRejects` rolls back. */
    load: z.strictObject({ maxRejects: z.number().int().min(0).optional() }).default({}),
    /** Encryption of stored member tokens: a key in an environment variable or a key file. */
    secrets: z
      .strictObject({
        keyEnv: z.string().default('FHIR_ETL_SECRET_KEY'),
        keyFile: z.string().optional(),
      })
      .default({ keyEnv: 'FHIR_ETL_SECRET_KEY' }),
    /** `fhir-etl schedule`: retries of a failed run, and the metrics endpoint. */
    scheduler: z
      .strictObject({
        retries: z.number().int().min(0).default(3),
        retryDelaySeconds: z.number().positive().default(60),
        metricsPort: z.number().int().min(0).max(65535).optional(),
        metricsHost: z.string().default('127.0.0.1'),
      })
      .default({ retries: 3, retryDelaySeconds: 60, metricsHost: '127.0.0.1' }),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.sources.forEach((s, i) => {
      if (seen.has(s.name)) {
        ctx.addIssue({
          code: 'custom',
          message: `duplicate source name "${s.name}"`,
          path: ['sources', i, 'name'],
        });
      }
      seen.add(s.name);
    });
  });

export type Config = z.infer<typeof configSchema>;
export type SourceConfig = z.infer<typeof source>;
export type BulkSourceConfig = z.infer<typeof bulkSource>;
export type RestSourceConfig = z.infer<typeof restSource>;
export type FilesSourceConfig = z.infer<typeof filesSource>;
export type PayerExchangeSourceConfig = z.infer<typeof payerExchangeSource>;
export type BulkAuthConfig = z.infer<typeof bulkAuth>;
export type AuthorizationCodeAuthConfig = z.infer<typeof authorizationCodeAuth>;
