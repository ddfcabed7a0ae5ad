// Module customization hooks (they run on their own thread): log each resolved URL.
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (process.env.FHIR_ETL_MODULE_LOG) appendFileSync(process.env.FHIR_ETL_MODULE_LOG, `${resolved.url}\n`);
  return resolved;
}
