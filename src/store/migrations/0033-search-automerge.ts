/**
 * Migration 0033 (issue 23): SQLite's FTS5 search table (`certificate_search`, migration 0013)
 * merges its segments in larger steps: `automerge` from FTS5's default 4 to
 * `SEARCH_AUTOMERGE_SEGMENTS`.
 *
 * Every commit that writes the table adds a segment, and FTS5 merges a level's segments into one
 * segment of the next level, incrementally, a little work per commit, once the level holds
 * `automerge` of them. With 8 instead of 4 there are fewer levels, so each posting is copied fewer
 * times on its way up: at 1,000,000 certificates an import wrote 9.6 pages of the table's data,
 * 4.1 with 8 (docs/performance.md, "s12-importpages"). A search reads every segment, and there
 * may now be up to 8 a level instead of 4; at 1,000,000 the substring searches measured no
 * slower than with 4 in the same runs (within the noise of a loaded machine).
 *
 * The setting is stored in the table's own configuration (`certificate_search_config`), so it
 * holds for every connection and process. `crisismerge` keeps its default (16): a level starts
 * its incremental merge at 8 segments, before the crisis merge at 16 would merge it whole inside
 * one import's commit (automerge 16 measured exactly as automerge 0 did). PostgreSQL has no
 * such table (its substring searches use pg_trgm): nothing to do. Down restores the default.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

/** Segments a level of `certificate_search` holds before FTS5 starts merging them. */
export const SEARCH_AUTOMERGE_SEGMENTS = 8;
const FTS5_DEFAULT_AUTOMERGE = 4;

const setAutomerge = (db: Kysely<unknown>, segments: number) =>
  // FTS5 takes the value only as an integer literal's type, so it is written into the text.
  sql`insert into certificate_search (certificate_search, rank) values ('automerge', ${sql.lit(segments)})`.execute(db);

export function searchAutomergeSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (d.substringIndex !== 'fts5') return;
      await setAutomerge(db, SEARCH_AUTOMERGE_SEGMENTS);
    },
    async down(db: Kysely<unknown>) {
      if (d.substringIndex !== 'fts5') return;
      await setAutomerge(db, FTS5_DEFAULT_AUTOMERGE);
    },
  };
}
