import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectPath, projectRoot } from './project.ts';

/** The Synthea fixtures in ../shared (present in CI, absent in a user's clone). */
export const SYNTHEA_DIR = join(projectRoot, '..', 'shared', 'fixtures', 'synthea-r4-50');
export const hasSynthea = existsSync(SYNTHEA_DIR);

/** A small sample kept in the repo: two Synthea patients and everything that refers to them. */
export const SAMPLE_DIR = projectPath('examples', 'sample');

/** Distinct resource ids per type in a folder of NDJSON files, counted independently of the loader. */
export function distinctIdsByType(dir: string): Record<string, number> {
  const ids: Record<string, Set<string>> = {};
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.ndjson'))) {
    for (const line of readFileSync(`${dir}/${name}`, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const resource = JSON.parse(line) as { resourceType: string; id: string };
      ids[resource.resourceType] ??= new Set();
      ids[resource.resourceType]?.add(resource.id);
    }
  }
  return Object.fromEntries(Object.entries(ids).map(([type, set]) => [type, set.size]));
}
