/**
 * Tells whether a file repeats an id within a type, so the merge can skip the sort that
 * picks the newest copy when (as in nearly every export) it does not. Ids are kept as 52-bit
 * hashes to bound memory: a collision only costs the slower, still correct, path.
 */
export class DuplicateDetector {
  #seen = new Map<string, Set<number>>();
  #duplicated = new Set<string>();

  /** Records an id; true when the type has repeated some id (this one or an earlier one). */
  see(resourceType: string, id: string): boolean {
    if (this.#duplicated.has(resourceType)) return true;
    let ids = this.#seen.get(resourceType);
    if (!ids) {
      ids = new Set();
      this.#seen.set(resourceType, ids);
    }
    const hash = hash52(id);
    if (ids.has(hash)) {
      this.#duplicated.add(resourceType);
      this.#seen.delete(resourceType);
      return true;
    }
    ids.add(hash);
    return false;
  }

  has(resourceType: string): boolean {
    return this.#duplicated.has(resourceType);
  }
}

function hash52(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}
