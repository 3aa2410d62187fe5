/**
 * Contract (migrations 0032 and 0035, SQLite): the sums over the per-day, per-hour and per-block
 * counters read them in their primary key's order, with no lookup of a table row per entry: the
 * validity totals every counted list reads (`validityTotalsSql`: Σ n over the past days since the
 * expired prefix's day and over today's hours before the current one) and
 * the deep pages' block seek (Σ n over the number blocks) search the tables by their primary key.
 * Before 0032 the tables were rowid tables and each sum looked every entry up in the table through
 * the key's separate index (`sqlite_autoindex_…`). The totals themselves are checked by the
 * counters' own tests; here the rebuilt tables must also keep every row through up and down.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledQuery, type Kysely } from 'kysely';
import { connect } from '../../src/store/connect.ts';
import { openStore } from '../../src/store/open.ts';
import { validityTotalsSql, validityTotalsValues } from '../../src/store/repositories/certificate-counters.ts';
import { freshSqlite, testMasterKey } from '../helpers/db.ts';

describe('counter tables on SQLite (migrations 0032, 0035)', () => {
  it('sums days, hours and blocks by the primary key, with no table lookup per entry', async () => {
    const location = await freshSqlite();
    try {
      const store = await openStore(location.options({ masterKey: testMasterKey() }));
      await store.close();
      const { db } = await connect(location.options());
      try {
        const explain = async (text: string, parameters: readonly unknown[]): Promise<string> => {
          const result = await db.executeQuery<{ detail: string }>(
            CompiledQuery.raw(`explain query plan ${text}`, [...parameters]),
          );
          return result.rows.map((r) => r.detail).join(' / ');
        };
        const totals = validityTotalsSql(validityTotalsValues(1, Date.UTC(2026, 11, 6, 8))).compile(
          db as Kysely<unknown>,
        );
        const totalsPlan = await explain(totals.sql, totals.parameters);
        assert.match(
          totalsPlan,
          // The days between the expired prefix's day and today, on either side (migration 0036).
          /(SEARCH e USING PRIMARY KEY \(tenant_id=\? AND day>\? AND day<\?\).*){2}/,
          totalsPlan,
        );
        assert.match(
          totalsPlan,
          /SEARCH certificate_expiry_hours USING PRIMARY KEY \(tenant_id=\? AND hour>\? AND hour<\?\)/,
          totalsPlan,
        );
        assert.doesNotMatch(totalsPlan, /autoindex/, totalsPlan);
        const blocksPlan = await explain(
          'select sum(n) as n from certificate_number_blocks where tenant_id = ? and block < ?',
          [1, 10],
        );
        assert.match(
          blocksPlan,
          /SEARCH certificate_number_blocks USING PRIMARY KEY \(tenant_id=\? AND block<\?\)/,
          blocksPlan,
        );
      } finally {
        await db.destroy();
      }
    } finally {
      await location.cleanup();
    }
  });
});
