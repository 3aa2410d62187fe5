/*
 * certkeeper's SQLite extension: turns on the query planner stability guarantee (QPSG) of the
 * connection that loads it, and registers `certkeeper_stable_plans()`, which answers 1 while it
 * is on (src/store/connect.ts checks it).
 *
 * Why: without QPSG, SQLite lets the query planner look at bound parameter values (a `LIMIT ?`,
 * `x = ?` in a join, a parameter compared with a partial index's literal) and marks such
 * statements to be planned again whenever a parameter is rebound. better-sqlite3 clears the
 * bindings after every run, so every run of such a statement parsed and planned its SQL again:
 * every join and every list page, about half of the SQLite time of a list request (measured with
 * a uprobe on sqlite3Reprepare: one re-prepare per run; docs/ARCHITECTURE.md "Performance").
 * With QPSG the plan depends on the SQL text and the schema only, so a kept statement runs as
 * prepared. certkeeper never runs ANALYZE and writes literals where a plan depends on a value
 * (edge_slots_tenant_listed), so no plan it relies on needs a bound value.
 *
 * Built by scripts/build-sqlite-extension.mjs at `npm install` against the sqlite3ext.h that
 * better-sqlite3 ships; loaded through the extension API of the SQLite inside better-sqlite3, so
 * it links against nothing.
 */
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1

static void stable_plans(sqlite3_context *context, int argc, sqlite3_value **argv) {
  int on = 0;
  (void)argc;
  (void)argv;
  sqlite3_db_config(sqlite3_context_db_handle(context), SQLITE_DBCONFIG_ENABLE_QPSG, -1, &on);
  sqlite3_result_int(context, on);
}

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_sqlitestableplans_init(sqlite3 *db, char **error, const sqlite3_api_routines *api) {
  int on = 0;
  SQLITE_EXTENSION_INIT2(api);
  if (sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_QPSG, 1, &on) != SQLITE_OK || on != 1) {
    *error = sqlite3_mprintf("SQLITE_DBCONFIG_ENABLE_QPSG was refused");
    return SQLITE_ERROR;
  }
  return sqlite3_create_function(db, "certkeeper_stable_plans", 0, SQLITE_UTF8, 0, stable_plans, 0, 0);
}
