import type { ConnectionPool } from '@databases/pg';
import type { MemberHandles } from '../security/member-handle.ts';

/** What every route reads: the reader role's pool and the console's settings. */
export interface ConsoleContext {
  db: ConnectionPool;
  viewSchema: string;
  /** Configured sources and their cron (undefined: run by hand). */
  schedules: Map<string, string | undefined>;
  handles: MemberHandles;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is looking (for the audit): the basic-auth user, 'bearer token', or 'loopback'. */
    viewer: string;
  }
}
