import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { COPY_NULL, escapeCopyText, rawTableName } from '../loaders/index.ts';

/**
 * The benchmark dataset: the Synthea fixtures copied until there are enough resources, every
 * copy with its own ids (and its references rewritten to them, so joins stay valid), written
 * as one NDJSON file per type, plus the very same rows as COPY text for the psql ceiling.
 * Cached in bench/.data under a key of its parameters; regenerated when they change.
 */
export interface Dataset {
  dir: string;
  /** The folder of NDJSON files, one per type, given to loadPaths. */
  ndjsonDir: string;
  /** One COPY-text file per raw table (source,id,version_id,last_updated,resource,run_id,deleted). */
  copyFiles: Array<{ table: string; path: string; rows: number; bytes: number }>;
  files: Array<{ type: string; path: string; resources: number; bytes: number }>;
  copies: number;
  resources: number;
  bytes: number;
  cached: boolean;
}

/** A single big NDJSON file (Observation copies), for the memory bench. */
export interface BigFile {
  path: string;
  resources: number;
  bytes: number;
  cached: boolean;
}

/** The source name the rows are loaded under; the COPY-text rows carry it too. */
export const BENCH_SOURCE = 'bench';
const GENERATOR_VERSION = 2;

export const dataRoot: string = fileURLToPath(new URL('./.data/', import.meta.url));

export function fixturesDir(): string {
  return process.env.FHIR_ETL_FIXTURES ?? '/work/shared/fixtures/synthea-r4-50';
}

interface FixtureLine {
  text: string;
  id: string;
  versionId: string | null;
  lastUpdated: string | null;
}

interface Fixtures {
  byType: Map<string, FixtureLine[]>;
  ids: Set<string>;
  resources: number;
  bytes: number;
}

/** Generates (or finds cached) a dataset of at least `resources` resources. */
export async function prepareDataset(resources: number, log = console.error): Promise<Dataset> {
  const folder = fixturesDir();
  const key = await cacheKey('dataset', folder, { resources });
  const dir = join(dataRoot, `dataset-${key}`);
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) {
    return { ...(JSON.parse(await readFile(manifestPath, 'utf8')) as Dataset), cached: true };
  }
  await removeStale('dataset-');
  const fixtures = await readFixtures(folder);
  const copies = Math.ceil(resources / fixtures.resources);
  log(`bench: generating ${copies} copies of ${fixtures.resources} resources (${folder}) into ${dir} ...`);
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(join(tmp, 'ndjson'), { recursive: true });
  await mkdir(join(tmp, 'copy'), { recursive: true });
  const files: Dataset['files'] = [];
  const copyFiles: Dataset['copyFiles'] = [];
  for (const [type, lines] of [...fixtures.byType].sort(([a], [b]) => a.localeCompare(b))) {
    const ndjson = new ChunkedWriter(join(tmp, 'ndjson', `${type}.ndjson`));
    const copy = new ChunkedWriter(join(tmp, 'copy', `${rawTableName(type)}.copy`));
    const kept = survivors(lines);
    for (let k = 0; k < copies; k++) {
      for (const [i, line] of lines.entries()) {
        const text = rewriteIds(line.text, fixtures.ids, k);
        await ndjson.write(`${text}\n`);
        if (kept.has(i)) await copy.write(copyRow(rewriteId(line.id, k), line, text));
      }
    }
    await ndjson.close();
    await copy.close();
    files.push({
      type,
      path: join(dir, 'ndjson', `${type}.ndjson`),
      resources: lines.length * copies,
      bytes: ndjson.bytes,
    });
    copyFiles.push({
      table: rawTableName(type),
      path: join(dir, 'copy', `${rawTableName(type)}.copy`),
      rows: kept.size * copies,
      bytes: copy.bytes,
    });
  }
  const dataset: Dataset = {
    dir,
    ndjsonDir: join(dir, 'ndjson'),
    copyFiles,
    files,
    copies,
    resources: files.reduce((sum, f) => sum + f.resources, 0),
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    cached: false,
  };
  await writeFile(join(tmp, 'manifest.json'), JSON.stringify(dataset, null, 2));
  await rename(tmp, dir);
  return dataset;
}

/** Generates (or finds cached) one NDJSON file of Observation copies of at least `bytes` bytes. */
export async function prepareBigFile(bytes: number, log = console.error): Promise<BigFile> {
  const folder = fixturesDir();
  const key = await cacheKey('big', folder, { bytes });
  const dir = join(dataRoot, `big-${key}`);
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) {
    return { ...(JSON.parse(await readFile(manifestPath, 'utf8')) as BigFile), cached: true };
  }
  await removeStale('big-');
  const fixtures = await readFixtures(folder);
  const lines = fixtures.byType.get('Observation') ?? [];
  if (lines.length === 0) throw new Error(`no Observation fixtures in ${folder}`);
  log(`bench: generating a ${(bytes / 2 ** 30).toFixed(2)} GiB Observation file into ${dir} ...`);
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const out = new ChunkedWriter(join(tmp, 'Observation.ndjson'));
  let resources = 0;
  for (let k = 0; out.bytes < bytes; k++) {
    for (const line of lines) {
      await out.write(`${rewriteIds(line.text, fixtures.ids, k)}\n`);
      resources++;
    }
  }
  await out.close();
  const big: BigFile = { path: join(dir, 'Observation.ndjson'), resources, bytes: out.bytes, cached: false };
  await writeFile(join(tmp, 'manifest.json'), JSON.stringify(big, null, 2));
  await rename(tmp, dir);
  return big;
}

/**
 * The id of a resource in copy k: copy 0 keeps the fixture's ids; other copies change the
 * first group of a UUID (keeping its shape), or suffix any other id.
 */
export function rewriteId(id: string, k: number): string {
  if (k === 0) return id;
  if (UUID.test(id)) {
    const head = (Number.parseInt(id.slice(0, 8), 16) ^ Math.imul(k, 0x9e3779b1)) >>> 0;
    return `${head.toString(16).padStart(8, '0')}${id.slice(8)}`;
  }
  return `${id}.${k}`.slice(-64);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** `"id":"<id>"`, `urn:uuid:<id>` and `Type/<id>`: rewritten when <id> is a fixture resource's id. */
const ID_SITES = /("id":"|urn:uuid:|\b[A-Z][A-Za-z]+\/)([A-Za-z0-9.-]{1,64})/g;

export function rewriteIds(text: string, ids: Set<string>, k: number): string {
  if (k === 0) return text;
  return text.replace(ID_SITES, (match, prefix: string, id: string) =>
    ids.has(id) ? `${prefix}${rewriteId(id, k)}` : match,
  );
}

/**
 * The lines that end up in fhir_raw when a file repeats an id (Synthea repeats some
 * Organizations and Practitioners): as the loader merges them, the newest by lastUpdated,
 * then numeric versionId, then the last line.
 */
function survivors(lines: FixtureLine[]): Set<number> {
  const best = new Map<string, number>();
  for (const [i, line] of lines.entries()) {
    const current = best.get(line.id);
    if (current === undefined || !newer(lines[current] as FixtureLine, line)) best.set(line.id, i);
  }
  return new Set(best.values());
}

/** Whether `a` (an earlier line) beats `b` (a later line). */
function newer(a: FixtureLine, b: FixtureLine): boolean {
  const ta = a.lastUpdated === null ? Number.NaN : Date.parse(a.lastUpdated);
  const tb = b.lastUpdated === null ? Number.NaN : Date.parse(b.lastUpdated);
  if (ta !== tb && !(Number.isNaN(ta) && Number.isNaN(tb))) return Number.isNaN(tb) || ta > tb;
  const va = a.versionId !== null && /^[0-9]{1,18}$/.test(a.versionId) ? Number(a.versionId) : Number.NaN;
  const vb = b.versionId !== null && /^[0-9]{1,18}$/.test(b.versionId) ? Number(b.versionId) : Number.NaN;
  if (va !== vb && !(Number.isNaN(va) && Number.isNaN(vb))) return Number.isNaN(vb) || va > vb;
  return false;
}

function copyRow(id: string, line: FixtureLine, text: string): string {
  const versionId = line.versionId === null ? COPY_NULL : escapeCopyText(line.versionId);
  const lastUpdated = line.lastUpdated === null ? COPY_NULL : escapeCopyText(line.lastUpdated);
  return `${BENCH_SOURCE}\t${escapeCopyText(id)}\t${versionId}\t${lastUpdated}\t${escapeCopyText(text)}\t1\tf\n`;
}

/** The fixtures are small (a few MB per type): each type's lines are read once and kept. */
async function readFixtures(folder: string): Promise<Fixtures> {
  const byType = new Map<string, FixtureLine[]>();
  const ids = new Set<string>();
  let resources = 0;
  let bytes = 0;
  for (const name of (await readdir(folder)).filter((n) => n.endsWith('.ndjson')).sort()) {
    const lines = createInterface({ input: createReadStream(join(folder, name)), crlfDelay: Infinity });
    for await (const text of lines) {
      if (text.trim() === '') continue;
      const resource = JSON.parse(text) as {
        resourceType: string;
        id: string;
        meta?: { versionId?: string; lastUpdated?: string };
      };
      let list = byType.get(resource.resourceType);
      if (!list) {
        list = [];
        byType.set(resource.resourceType, list);
      }
      list.push({
        text,
        id: resource.id,
        versionId: resource.meta?.versionId ?? null,
        lastUpdated: resource.meta?.lastUpdated ?? null,
      });
      ids.add(resource.id);
      resources++;
      bytes += Buffer.byteLength(text) + 1;
    }
  }
  if (resources === 0) throw new Error(`no NDJSON fixtures in ${folder}`);
  return { byType, ids, resources, bytes };
}

/** Identifies a generated dataset: the generator, the fixtures (names, sizes, times) and the parameters. */
async function cacheKey(kind: string, folder: string, parameters: object): Promise<string> {
  const real = await realpath(folder);
  const entries: Array<[string, number, number]> = [];
  for (const name of (await readdir(real)).sort()) {
    const info = await stat(join(real, name));
    entries.push([name, info.size, Math.trunc(info.mtimeMs)]);
  }
  return createHash('sha256')
    .update(JSON.stringify({ kind, version: GENERATOR_VERSION, folder: real, entries, parameters }))
    .digest('hex')
    .slice(0, 12);
}

/** Removes datasets generated with other parameters (they are large). */
async function removeStale(prefix: string): Promise<void> {
  await mkdir(dataRoot, { recursive: true });
  for (const name of await readdir(dataRoot)) {
    if (name.startsWith(prefix)) await rm(join(dataRoot, name), { recursive: true, force: true });
  }
}

/** Buffers writes into ~1 MB chunks and waits on backpressure, so memory stays flat. */
class ChunkedWriter {
  bytes = 0;
  #parts: string[] = [];
  #pending = 0;
  readonly #stream: WriteStream;

  constructor(path: string) {
    this.#stream = createWriteStream(path);
  }

  async write(text: string): Promise<void> {
    this.#parts.push(text);
    this.#pending += text.length;
    if (this.#pending >= 1 << 20) await this.#flush();
  }

  async close(): Promise<void> {
    await this.#flush();
    await new Promise<void>((resolve, reject) => {
      this.#stream.once('error', reject);
      this.#stream.end(resolve);
    });
  }

  async #flush(): Promise<void> {
    if (this.#parts.length === 0) return;
    const chunk = Buffer.from(this.#parts.join(''));
    this.#parts = [];
    this.#pending = 0;
    this.bytes += chunk.length;
    if (!this.#stream.write(chunk)) await once(this.#stream, 'drain');
  }
}
