/**
 * A request's credential check (core/ports.ts `CredentialConfirmation`) answered with the
 * request's own read: one statement per request instead of the credential's read and then the
 * data's (bench/pg-round-trips.ts).
 *
 * The check is the state of one row, read in the same snapshot as the data: the credential by
 * id, or the NHN token by hash with its credential; `live` while the credential is not revoked,
 * `revoked`, or `unknown` when the row is gone (a pruned token). A credential row changes only
 * when it is revoked (core/credentials.ts), so its state is all there is to confirm.
 *
 * - PostgreSQL (`dialect.mergesReads`): the first read made through `CheckedReads.all` is sent
 *   wrapped (`withState`): the state as a one-row derived table, left-joined to the read's own
 *   statement, unchanged, as a subquery. The one row of the state always comes back (an empty
 *   read gives that row alone, its `credential_row` null), and the read's rows keep their
 *   order: a nested loop over one outer row yields the inner rows as the inner query orders
 *   them, and a subquery with an ORDER BY or LIMIT is never flattened into the join.
 *   `rowSet` does the same for a read whose rows come as arrays (query-template.ts).
 * - SQLite, or a request whose reads did not go through `all` (a search, an empty page): the
 *   state is read by a statement of its own in `settle` (a function call on SQLite).
 *
 * Either way the store only reports the state; core refuses (core/actor.ts `settleCredential`).
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { CredentialCheck, CredentialConfirmation, CredentialState } from '../core/ports.ts';
import type { StoreDialect } from './dialect.ts';
import { columnKeys, queryTemplate, type QueryTemplate, type RowSet, type RowValues } from './query-template.ts';

/** The state of the check's row as one text value: 'live', 'revoked', or null (no such row). */
const stateOf = {
  credential: (id: unknown): RawBuilder<string | null> =>
    sql`(select case when c.revoked_at is null then 'live' else 'revoked' end from credentials as c where c.id = ${id})`,
  token: (tokenHash: unknown): RawBuilder<string | null> =>
    sql`(select case when c.revoked_at is null then 'live' else 'revoked' end from nhn_tokens as t inner join credentials as c on c.id = t.credential_id where t.token_hash = ${tokenHash})`,
};

type Kind = keyof typeof stateOf;
const kindOf = (check: CredentialCheck): Kind => ('credentialId' in check ? 'credential' : 'token');
const valueOf = (check: CredentialCheck): unknown => ('credentialId' in check ? check.credentialId : check.tokenHash);
const stateFrom = (value: unknown): CredentialState => (value === 'live' || value === 'revoked' ? value : 'unknown');

/** The check alone (SQLite, or no read carried it). */
const alone = {
  credential: queryTemplate(
    (_db: Kysely<unknown>, id: unknown) => sql<{ state: unknown }>`select ${stateOf.credential(id)} as state`,
  ),
  token: queryTemplate(
    (_db: Kysely<unknown>, tokenHash: unknown) => sql<{ state: unknown }>`select ${stateOf.token(tokenHash)} as state`,
  ),
};

interface WrappedRow {
  credential_state: unknown;
  credential_row: unknown;
}

/** A read wrapped with the state (PostgreSQL); one function per kind, so `around` keeps one template each. */
const withState = {
  credential: (inner: unknown, [value]: unknown[]) => wrapped(stateOf.credential(value), inner),
  token: (inner: unknown, [value]: unknown[]) => wrapped(stateOf.token(value), inner),
};
const wrapped = (state: RawBuilder<string | null>, inner: unknown): RawBuilder<WrappedRow> =>
  sql`select g.credential_state, s.* from (select ${state} as credential_state) as g left join lateral (select true as credential_row, q.* from (${inner as RawBuilder<unknown>}) as q) as s on true`;

export interface CheckedReads {
  /**
   * The template's rows, as `template.all` answers them. The first read made here on
   * PostgreSQL also answers the pending check (its rows carry two more columns, which callers
   * ignore: `credential_state`, `credential_row`).
   */
  all<DB, Row>(template: QueryTemplate<DB, unknown[], Row>, db: Kysely<DB>, values: readonly unknown[]): Promise<Row[]>;
  /** The same as `all`, as `template.rowSet` answers (rows as arrays on PostgreSQL). */
  rowSet<DB, Row>(
    template: QueryTemplate<DB, unknown[], Row>,
    db: Kysely<DB>,
    values: readonly unknown[],
  ): Promise<RowSet<Row>>;
  /** Answers the check by a statement of its own when no read did; call before returning. */
  settle<DB>(db: Kysely<DB>): Promise<void>;
}

/** Answers `confirm` by a statement of its own, unless it is answered already. */
export async function checkAlone<DB>(db: Kysely<DB>, confirm: CredentialConfirmation): Promise<void> {
  if (confirm.state !== undefined) return;
  const row = await alone[kindOf(confirm.check)].first(db as unknown as Kysely<unknown>, valueOf(confirm.check));
  confirm.state = stateFrom(row?.state);
}

/** Reads for a request without a pending check. */
export const uncheckedReads: CheckedReads = {
  all: (template, db, values) => template.all(db, ...values),
  rowSet: (template, db, values) => template.rowSet(db, ...values),
  settle: async () => {},
};

const WRAPPED_COLUMNS = ['credential_state', 'credential_row'] as const;

/** The wrapped read's state, and its own rows (those of the read's join: `credential_row`). */
function unwrap<Row>(set: RowSet<unknown>): { state: CredentialState; set: RowSet<Row> } {
  const at = columnKeys(WRAPPED_COLUMNS, set.columns);
  const rows = set.rows as ReadonlyArray<RowValues>;
  return {
    state: stateFrom(rows[0]?.[at.credential_state]),
    set: { rows: rows.filter((row) => row[at.credential_row] === true) as never, columns: set.columns },
  };
}

/** The reads of one store call that must answer `confirm` (nothing to answer: `uncheckedReads`). */
export function checkedReads(dialect: StoreDialect, confirm: CredentialConfirmation | undefined): CheckedReads {
  if (!confirm || confirm.state !== undefined) return uncheckedReads;
  const kind = kindOf(confirm.check);
  const value = valueOf(confirm.check);
  const wrappedOf = <DB, Row>(template: QueryTemplate<DB, unknown[], Row>) =>
    template.around(1, withState[kind] as (inner: unknown, extra: unknown[]) => RawBuilder<WrappedRow>);
  return {
    async all(template, db, values) {
      if (!dialect.mergesReads || confirm.state !== undefined) return template.all(db, ...values);
      const { state, set } = unwrap<Awaited<ReturnType<typeof template.all>>[number]>({
        rows: await wrappedOf(template).all(db, value, ...values),
        columns: null,
      });
      confirm.state = state;
      return set.rows as Awaited<ReturnType<typeof template.all>>;
    },
    async rowSet(template, db, values) {
      if (!dialect.mergesReads || confirm.state !== undefined) return template.rowSet(db, ...values);
      const { state, set } = unwrap<Awaited<ReturnType<typeof template.all>>[number]>(
        await wrappedOf(template).rowSet(db, value, ...values),
      );
      confirm.state = state;
      return set;
    },
    settle: (db) => checkAlone(db, confirm),
  };
}
