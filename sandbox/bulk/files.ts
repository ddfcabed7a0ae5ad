import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGzip, gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireToken } from '../bearer.ts';
import { FILES_PATH, type SandboxContext } from '../context.ts';
import { FhirRequestError } from '../errors.ts';
import { deletedBundles, type ExportFile, type ExportJob, fileResources } from './jobs.ts';

/**
 * GET /bulk-files/{job}/{generation}/{file}: one output or deleted file as NDJSON, gzip-encoded
 * when the client accepts it, with the download faults (token-expiry, 410, malformed,
 * truncated-gzip, slow) applied exactly once per file.
 * @see Bulk Data STU2 export.html#file-request; STU3 adds Accept-Encoding handling
 */
export function registerFileRoutes(app: FastifyInstance, context: SandboxContext): void {
  app.get(`${FILES_PATH}/:jobId/:generation/:name`, async (request, reply) => {
    const { jobId, generation, name } = request.params as { jobId: string; generation: string; name: string };
    const job = context.jobs.get(jobId);
    const file = job?.files.find((f) => f.name === name);
    if (
      !job ||
      job.cancelled ||
      !file ||
      !(Number(generation) >= 1 && Number(generation) <= job.generation)
    ) {
      throw new FhirRequestError(404, 'not-found', `no export file ${name} for job ${jobId}`);
    }
    if (context.options.requiresAccessToken) {
      const token = requireToken(
        request,
        context,
        job.tokenKinds ?? ['system'],
        'bulk files need a Provider Access (client credentials) token',
      );
      if (context.faults['token-expiry'] && spend(job, 'token-expiry', name)) {
        context.tokens.revoke(token.token);
        throw new FhirRequestError(
          401,
          'expired',
          'the access token expired during the download (token-expiry fault)',
          {
            'www-authenticate': 'Bearer realm="fhir-etl-sandbox", error="invalid_token"',
          },
        );
      }
    }
    if (Number(generation) <= (job.expired.get(name) ?? 0)) {
      throw new FhirRequestError(
        410,
        'expired',
        `this link to ${name} has expired: poll the status URL for a fresh manifest`,
      );
    }
    if (context.faults['410'] && spend(job, '410', name)) {
      job.expired.set(name, job.generation);
      throw new FhirRequestError(
        410,
        'expired',
        `this link to ${name} has expired (410 fault): poll the status URL for a fresh manifest`,
      );
    }
    return send(request, reply, context, job, file);
  });
}

/** Marks a fault spent for a file; true the first time only. */
export function spend(job: ExportJob, fault: string, name: string): boolean {
  const key = `${fault}:${name}`;
  if (job.spent.has(key)) return false;
  job.spent.add(key);
  return true;
}

async function send(
  request: FastifyRequest,
  reply: FastifyReply,
  context: SandboxContext,
  job: ExportJob,
  file: ExportFile,
) {
  const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  const malformed = Boolean(context.faults.malformed);
  let body: Readable = Readable.from(
    lines(context, job, file, malformed, Boolean(context.faults['bad-values'])),
  );
  reply.header('content-type', 'application/fhir+ndjson');
  if (gzip) {
    reply.header('content-encoding', 'gzip');
    if (context.faults['truncated-gzip'] && spend(job, 'truncated-gzip', file.name)) {
      const whole = gzipSync(Buffer.from((await body.toArray()).join('')));
      body = Readable.from([whole.subarray(0, Math.max(10, Math.floor(whole.length / 2)))]);
    } else {
      body = body.pipe(createGzip());
    }
  }
  if (context.faults.slow) body = Readable.from(trickle(body));
  return reply.send(body);
}

/** A malformed line (truncated JSON) goes in as the second line of every file under the malformed fault. */
export const MALFORMED_LINE = '{"resourceType":"Observation","id":"malformed-by-fault","status":';

function* lines(
  context: SandboxContext,
  job: ExportJob,
  file: ExportFile,
  malformed: boolean,
  badValues: boolean,
): Generator<string> {
  const items = file.kind === 'deleted' ? deletedBundles(context, job) : fileResources(context, job, file);
  let n = 0;
  for (const item of items) {
    yield `${JSON.stringify(badValues ? withBadValue(item) : item)}\n`;
    if (++n === 1 && malformed) yield `${MALFORMED_LINE}\n`;
  }
  if (n === 0 && malformed) yield `${MALFORMED_LINE}\n`;
}

/**
 * The bad-values fault: values a real export sends that no column of their type can hold, one
 * per resource of these types (every other resource is as generated): a birthDate on no
 * calendar, a Coverage.order past the integer range, a fractional numberOfRepeatsAllowed.
 */
export const BAD_VALUES: Record<string, (resource: Record<string, unknown>) => void> = {
  Patient: (r) => {
    r.birthDate = '1970-02-30';
  },
  Coverage: (r) => {
    r.order = 3000000000;
  },
  MedicationRequest: (r) => {
    r.dispenseRequest = { ...(r.dispenseRequest ?? {}), numberOfRepeatsAllowed: 1.5 };
  },
};

function withBadValue(item: unknown): unknown {
  const resource = item as Record<string, unknown>;
  const spoil = BAD_VALUES[resource.resourceType as string];
  if (!spoil) return item;
  const copy = structuredClone(resource);
  spoil(copy);
  return copy;
}

/** Slow fault: the body goes out in 512-byte pieces, 20 ms apart. */
async function* trickle(body: Readable): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    for (let offset = 0; offset < buffer.length; offset += 512) {
      await sleep(20);
      yield buffer.subarray(offset, offset + 512);
    }
  }
}
