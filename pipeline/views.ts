import { shippedViewsDir } from '../schemas/index.ts';
import { type CompiledView, compileView, loadViewDefinitions } from '../transforms/index.ts';

/** The shipped views (schemas/views) and the user's own folders, compiled, names unique. */
export async function configuredViews(extraDirs: string[] = []): Promise<CompiledView[]> {
  const definitions = await loadViewDefinitions([shippedViewsDir, ...extraDirs]);
  return definitions.map((definition) => compileView(definition));
}
