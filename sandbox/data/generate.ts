import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { memberResources } from './member-resources.ts';
import { type MemberSummary, memberSummary } from './members.ts';
import { type FhirResource, GENERATED_TYPES } from './resource.ts';
import { sharedResources } from './shared.ts';

/**
 * The synthetic data set, member by member: a generator never holds more than one member's
 * resources, so 100k patients stream through bounded memory.
 */

export interface GenerateOptions {
  /** Default 20; the 4 named 1up test members are always the first four. */
  patients?: number;
  /** Default 1; the same seed gives byte-identical data. */
  seed?: number;
}

export interface GeneratedMember {
  member: MemberSummary;
  resources: FhirResource[];
}

/** Members in index order, each with every resource of their record. */
export function* generateMembers(options: GenerateOptions = {}): Generator<GeneratedMember> {
  const { patients, seed } = resolve(options);
  for (let index = 0; index < patients; index++) {
    yield { member: memberSummary(seed, index), resources: memberResources(seed, index) };
  }
}

/** The resources that belong to no member: the payer, provider organizations and practitioners. */
export function generateSharedResources(options: GenerateOptions = {}): FhirResource[] {
  return [...sharedResources(resolve(options).seed)];
}

/**
 * Writes one `<Type>.ndjson` file per resource type into `outDir` (created if missing), streaming
 * with backpressure. Returns the number of resources written per type.
 */
export async function writeNdjson(
  outDir: string,
  options: GenerateOptions = {},
): Promise<Record<string, number>> {
  await mkdir(outDir, { recursive: true });
  const files = new Map<string, WriteStream>();
  const counts: Record<string, number> = {};
  const write = async (resource: FhirResource) => {
    let file = files.get(resource.resourceType);
    if (!file) {
      file = createWriteStream(join(outDir, `${resource.resourceType}.ndjson`));
      files.set(resource.resourceType, file);
    }
    counts[resource.resourceType] = (counts[resource.resourceType] ?? 0) + 1;
    if (!file.write(`${JSON.stringify(resource)}\n`)) await once(file, 'drain');
  };
  try {
    for (const { resources } of generateMembers(options))
      for (const resource of resources) await write(resource);
    for (const resource of generateSharedResources(options)) await write(resource);
  } finally {
    await Promise.all([...files.values()].map((file) => new Promise((done) => file.end(done))));
  }
  return Object.fromEntries(GENERATED_TYPES.filter((t) => counts[t]).map((t) => [t, counts[t] ?? 0]));
}

function resolve(options: GenerateOptions): { patients: number; seed: number } {
  return { patients: Math.max(4, options.patients ?? 20), seed: options.seed ?? 1 };
}
