import type { TestFn } from 'ava';

/**
 * One fixture for a whole test file: created in a `test.before` hook, disposed of in a
 * `test.after.always` hook. The handle returned reads through to the fixture, so tests use it
 * as they would the fixture itself (`warehouse.db`); reading it before the hook ran throws.
 * ava runs a file's `before` hooks at once, so a set-up that needs two fixtures together
 * (members logged in to a payer, into the warehouse) belongs in one hook of its own file.
 */
export function useFixture<T extends object, Context = unknown>(
  test: TestFn<Context>,
  create: () => Promise<T>,
  dispose: (fixture: T) => Promise<void>,
): T {
  let fixture: T | undefined;
  test.before(async () => {
    fixture = await create();
  });
  test.after.always(async () => {
    if (fixture) await dispose(fixture);
  });
  const current = (): T => {
    if (!fixture) throw new Error('the fixture is not ready: use it inside a test or a later hook');
    return fixture;
  };
  return new Proxy({} as T, {
    get: (_target, key) => Reflect.get(current(), key),
    has: (_target, key) => Reflect.has(current(), key),
    ownKeys: () => Reflect.ownKeys(current()),
    getOwnPropertyDescriptor: (_target, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(current(), key);
      return descriptor && { ...descriptor, configurable: true };
    },
  });
}
