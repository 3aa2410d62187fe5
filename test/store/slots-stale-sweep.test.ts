/**
 * Contract: the edge worker's sweep for stale slots (slots.ts `staleSlotsQuery`) reads each
 * slot item's certificate by the certificates' primary key, once per item, and never joins the
 * certificates table. Why: written as a join, PostgreSQL at 1,000,000 certificates chose a merge
 * join that walked the certificates' primary key from its start (1.1 s a sweep, every minute);
 * the number of slot items, not of certificates, must bound the sweep. The plan is read on a
 * migrated store of each kind: its shape, not its cost, so a few rows do.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledQuery, type Kysely } from 'kysely';
import { connect } from '../../src/store/connect.ts';
import { openStore } from '../../src/store/open.ts';
import { staleSlotsQuery } from '../../src/store/repositories/slots.ts';
import type { SlotTables } from '../../src/store/repositories/slot-rows.ts';
import type { Database } from '../../src/store/schema.ts';
import { storeTargets, testMasterKey } from '../helpers/db.ts';

/** PostgreSQL's JSON plan node, as far as this test reads it. */
interface PlanNode {
  'Node Type': string;
  'Parent Relationship'?: string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** Every node reading `relation`, with the relationship of each of its ancestors to its parent. */
function scansOf(node: PlanNode, relation: string, path: string[] = []): Array<{ node: PlanNode; path: string[] }> {
  const here = [...path, node['Parent Relationship'] ?? 'root'];
  const found = node['Relation Name'] === relation ? [{ node, path: here }] : [];
  return [...found, ...(node.Plans ?? []).flatMap((child) => scansOf(child, relation, here))];
}

for (const target of storeTargets) {
  describe(`edge worker sweep for stale slots, ${target.name}`, { skip: target.skip }, () => {
    it('reads each item’s certificate by primary key in a subquery, never a join over certificates', async () => {
      const location = await target.fresh();
      const store = await openStore(location.options({ masterKey: testMasterKey() }));
      await store.close();
      const { db: base } = await connect(location.options());
      const db = base as unknown as Kysely<Database & SlotTables>;
      try {
        const compiled = staleSlotsQuery(db).compile();
        if (target.name === 'sqlite') {
          const plan = (
            await db.executeQuery<{ detail: string }>(
              CompiledQuery.raw(`explain query plan ${compiled.sql}`, [...compiled.parameters]),
            )
          ).rows.map((r) => r.detail);
          const text = plan.join('\n');
          assert.ok(
            plan.some((step) => step.includes('CORRELATED SCALAR SUBQUERY')),
            text,
          );
          const certificateSteps = plan.filter((step) => / c\b/.test(step));
          assert.deepEqual(certificateSteps, ['SEARCH c USING INTEGER PRIMARY KEY (rowid=?)'], text);
        } else {
          const [row] = (
            await db.executeQuery<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
              CompiledQuery.raw(`explain (format json) ${compiled.sql}`, [...compiled.parameters]),
            )
          ).rows;
          const plan = row!['QUERY PLAN'][0]!.Plan;
          const text = JSON.stringify(plan, null, 1);
          const scans = scansOf(plan, 'certificates');
          assert.equal(scans.length, 1, text);
          const [{ node, path }] = scans as [{ node: PlanNode; path: string[] }];
          assert.ok(path.includes('SubPlan'), `certificates read outside a SubPlan:\n${text}`);
          assert.ok(
            !path
              .slice(path.indexOf('SubPlan'))
              .some((relationship) => relationship === 'Outer' || relationship === 'Inner'),
            `certificates read in a join inside the SubPlan:\n${text}`,
          );
          assert.equal(node['Index Name'], 'certificates_pkey', text);
        }
      } finally {
        await db.destroy();
        await location.cleanup();
      }
    });
  });
}
