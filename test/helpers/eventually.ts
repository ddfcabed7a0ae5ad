import { setTimeout as pause } from 'node:timers/promises';

/**
 * How often `eventually` asks again. Only a cadence: nothing waits for it to pass, and a
 * shorter one would take CPU (queries to PostgreSQL) from the process the test waits on.
 */
const ASK_EVERY_MS = 10;

/**
 * Waits until `check` holds (a state of PostgreSQL or of a child process that an event of the
 * code under test brings about). No deadline of its own: the test's timeout bounds the wait,
 * so a busy machine makes a test slower, never wrong.
 */
export async function eventually(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await pause(ASK_EVERY_MS);
}
