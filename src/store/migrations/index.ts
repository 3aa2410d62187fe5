/**
 * Versioned migrations, applied by `openStore` at every start and by `certkeeper migrate`.
 *
 * Two processes starting at once against one database (several servers behind a load balancer,
 * or the CLI next to the server) must not both apply a migration. Kysely's migrator alone is not
 * enough for that: on PostgreSQL it takes an advisory lock only around the migrations themselves,
 * after creating its bookkeeping tables outside any lock (it then relies on catching "already
 * exists" errors); on SQLite it takes no lock and runs each migration outside a transaction. So
 * the whole run, bookkeeping included, happens inside one exclusive store transaction
 * (transaction.ts: SQLite `BEGIN IMMEDIATE`, PostgreSQL `BEGIN` + `pg_advisory_xact_lock`), with
 * the migrator's own transactions turned off. Both dialects have transactional DDL, so a failed
 * migration leaves the schema as it was. The second process waits, then finds nothing to do.
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { StoreDialect } from '../dialect.ts';
import { initialSchema } from './0001-initial.ts';
import { nhnTokensSchema } from './0002-nhn-tokens.ts';
import { certificateCountersSchema } from './0003-certificate-counters.ts';
import { edgeSlotsSchema } from './0004-edge-slots.ts';
import { consoleSessionsSchema } from './0005-console-sessions.ts';
import { edgeSlotCountsSchema } from './0006-edge-slot-counts.ts';
import { expiryDaySumsSchema } from './0007-expiry-day-sums.ts';
import { issuanceSchema } from './0008-issuance.ts';
import { acmSchema } from './0009-acm.ts';
import { notificationsSchema } from './0010-notifications.ts';
import { reservedCertificateNumbersSchema } from './0011-reserved-certificate-numbers.ts';
import { certificateVersionsSchema } from './0012-certificate-versions.ts';
import { certificateSearchSchema } from './0013-certificate-search.ts';
import { reissueRevokeSchema } from './0014-reissue-revoke.ts';
import { acmRequestsSchema } from './0015-acm-requests.ts';
import { auditChainSchema } from './0016-audit-chain.ts';
import { acmRequestTagsSchema } from './0017-acm-request-tags.ts';
import { activeOrderCertificateNamesSchema } from './0018-active-order-certificate-names.ts';
import { deployTargetLastDeploymentSchema } from './0020-deploy-target-last-deployment.ts';
import { notifyScheduleAutovacuumSchema } from './0021-notify-schedule-autovacuum.ts';
import { certificateSearchNarrowSchema } from './0022-certificate-search-narrow.ts';
import { certificateSearchWalksSchema } from './0023-certificate-search-walks.ts';
import { dropLiveListSqliteSchema } from './0024-drop-live-list-sqlite.ts';
import { notifyDeliveryCountsSchema } from './0027-notify-delivery-counts.ts';
import { certificateSearchNameCoverSchema } from './0028-certificate-search-name-cover.ts';
import { dropNameTrigramIndexSchema } from './0029-drop-name-trigram-index.ts';
import { countersWithoutRowidSchema } from './0032-counters-without-rowid.ts';
import { searchAutomergeSchema } from './0033-search-automerge.ts';
import { expiryHoursSchema } from './0035-expiry-hours.ts';
import { expiredBeforeDaySchema } from './0036-expired-before-day.ts';

/** Every migration in order. Names sort in application order; never rename or edit a shipped one. */
function migrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    '0001-initial': initialSchema(dialect),
    '0002-nhn-tokens': nhnTokensSchema(dialect),
    '0003-certificate-counters': certificateCountersSchema(dialect),
    '0004-edge-slots': edgeSlotsSchema(dialect),
    '0005-console-sessions': consoleSessionsSchema(dialect),
    '0006-edge-slot-counts': edgeSlotCountsSchema(dialect),
    '0007-expiry-day-sums': expiryDaySumsSchema(),
    '0008-issuance': issuanceSchema(dialect),
    '0009-acm': acmSchema(dialect),
    '0010-notifications': notificationsSchema(dialect),
    '0011-reserved-certificate-numbers': reservedCertificateNumbersSchema(dialect),
    '0012-certificate-versions': certificateVersionsSchema(dialect),
    '0013-certificate-search': certificateSearchSchema(dialect),
    '0014-reissue-revoke': reissueRevokeSchema(),
    '0015-acm-requests': acmRequestsSchema(dialect),
    '0016-audit-chain': auditChainSchema(dialect),
    '0017-acm-request-tags': acmRequestTagsSchema(dialect),
    '0018-active-order-certificate-names': activeOrderCertificateNamesSchema(),
    '0020-deploy-target-last-deployment': deployTargetLastDeploymentSchema(),
    '0021-notify-schedule-autovacuum': notifyScheduleAutovacuumSchema(dialect),
    '0022-certificate-search-narrow': certificateSearchNarrowSchema(dialect),
    '0023-certificate-search-walks': certificateSearchWalksSchema(dialect),
    '0024-drop-live-list-sqlite': dropLiveListSqliteSchema(dialect),
    '0027-notify-delivery-counts': notifyDeliveryCountsSchema(dialect),
    '0028-certificate-search-name-cover': certificateSearchNameCoverSchema(dialect),
    '0029-drop-name-trigram-index': dropNameTrigramIndexSchema(dialect),
    '0032-counters-without-rowid': countersWithoutRowidSchema(dialect),
    '0033-search-automerge': searchAutomergeSchema(dialect),
    '0035-expiry-hours': expiryHoursSchema(dialect),
    '0036-expired-before-day': expiredBeforeDaySchema(),
  };
}

/** Names of every migration, in application order. */
export function migrationNames(dialect: StoreDialect): string[] {
  return Object.keys(migrations(dialect));
}

/** Static provider: migrations are code imported above, not files discovered at run time. */
function provider(dialect: StoreDialect): MigrationProvider {
  return { getMigrations: async () => migrations(dialect) };
}

/**
 * Applies pending migrations. `trx` must be a connection already inside an exclusive store
 * transaction (see transaction.ts); the caller commits.
 */
export async function applyMigrations<DB>(trx: Kysely<DB>, dialect: StoreDialect): Promise<string[]> {
  const migrator = new Migrator({ db: trx, provider: provider(dialect), disableTransactions: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(
      `Database migration ${failed ?? ''} failed on ${dialect.label}; nothing was applied.`.replace('  ', ' '),
      { cause: error },
    );
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
