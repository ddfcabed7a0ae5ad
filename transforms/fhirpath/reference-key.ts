/**
 * getReferenceKey(): the key of the resource a Reference points to.
 *
 * Resolves `Type/id`, absolute URLs ending in `Type/id` (optionally followed by
 * `/_history/version`) and `urn:uuid:<id>`. With a type argument, a reference to
 * another type yields no key.
 *
 * `urn:uuid:` references carry no type. We still return their id when a type is
 * asked for: bulk exports such as Synthea's reference Patients as
 * `urn:uuid:<patient id>`, and dropping those keys would empty every patient join.
 * @see SQL on FHIR v2, StructureDefinition-ViewDefinition-notes, "getReferenceKey"
 */
export function referenceKey(reference: unknown, type?: string): string | undefined {
  if (typeof reference !== 'string') return undefined;
  if (reference.startsWith('urn:uuid:')) {
    const id = reference.slice(9);
    return id === '' ? undefined : id;
  }
  const parts = reference.split('/');
  let end = parts.length;
  if (end >= 4 && parts[end - 2] === '_history') end -= 2;
  if (end < 2) return undefined;
  const refType = parts[end - 2];
  const id = parts[end - 1];
  if (!refType || !id || !/^[A-Z][A-Za-z]+$/.test(refType)) return undefined;
  if (type !== undefined && refType !== type) return undefined;
  return id;
}

/** getReferenceKey() over a collection of Reference values, appending keys to `out`. */
export function referenceKeys(inputs: readonly unknown[], type: string | undefined, out: unknown[]): void {
  for (let i = 0; i < inputs.length; i++) {
    const item = inputs[i];
    if (item === null || typeof item !== 'object') continue;
    const key = referenceKey((item as Record<string, unknown>).reference, type);
    if (key !== undefined) out.push(key);
  }
}

/**
 * getResourceKey(): the key of the resource being transformed, its id.
 * @see SQL on FHIR v2, StructureDefinition-ViewDefinition-notes, "getResourceKey"
 */
export function resourceKey(resource: Record<string, unknown>): string | undefined {
  const id = resource.id;
  return typeof id === 'string' ? id : undefined;
}
