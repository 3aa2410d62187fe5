/**
 * Migration 0021 (issue 18's scan budget): autovacuum settings of their own for `notify_schedule`
 * on PostgreSQL. Nothing on SQLite (`dialect.keepsDeadRowVersions`).
 *
 * Why: every due row the expiry pass settles moves (`due_at` to the next threshold) or goes, and
 * `due_at` is indexed (`notify_schedule_due`), so each move leaves a dead row version and a dead
 * entry in that index. The due read walks the index from its lowest `due_at`, which is exactly
 * where the dead entries of past moves sit, until VACUUM removes them. PostgreSQL's default
 * waits for 50 + 20 % of the table's rows in dead versions: at 1,000,000 certificates (about
 * 50,000 rows inside a 30-day horizon) that is about 10,000, and after a burst (a tenant's first
 * pass queues 50,000 notices, 500 a pass) the due read took 9–22 ms to return 40 rows instead of
 * 0.3 ms (BENCHMARKS.md, "Notification expiry pass"). With a fixed threshold of 1,000 dead
 * versions (scale factor 0) autovacuum visits the table within a naptime of a burst, and in the
 * steady state (a few dozen moves a pass) about every half hour; a vacuum of a table this small
 * costs milliseconds. The insert threshold stays as it is (inserts leave no dead versions).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

export const NOTIFY_SCHEDULE_VACUUM_THRESHOLD = 1000;

export function notifyScheduleAutovacuumSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (!d.keepsDeadRowVersions) return;
      await sql`alter table notify_schedule set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = ${sql.lit(NOTIFY_SCHEDULE_VACUUM_THRESHOLD)})`.execute(
        db,
      );
    },
    async down(db: Kysely<unknown>) {
      if (!d.keepsDeadRowVersions) return;
      await sql`alter table notify_schedule reset (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold)`.execute(
        db,
      );
    },
  };
}
