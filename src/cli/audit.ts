/**
 * `certkeeper audit verify [--tenant NAME]`: checks the audit log's hash chains
 * (domain/audit-chain.ts) and reports, per chain, the events checked, the head hash (worth keeping
 * somewhere else: a head recorded today shows tomorrow whether events were cut off the end) and
 * the first event that was altered, removed or reordered. Exit status 1 when any chain is broken.
 */
import type { AuditChainReport } from '../core/audit.ts';
import type { Core } from '../core/core.ts';
import type { ChainBreak } from '../domain/audit-chain.ts';
import type { Tenant } from '../domain/model.ts';
import { table } from './output.ts';

type Out = (value: unknown, human: string) => void;

function describeBreak(found: ChainBreak): string {
  switch (found.kind) {
    case 'altered':
      return `event ${found.eventId} was altered (its contents do not match its hash)`;
    case 'broken_link':
      return found.afterEventId === null
        ? `event ${found.eventId} does not start the chain: events before it were removed, or it was moved or altered`
        : `event ${found.eventId} does not follow event ${found.afterEventId}: an event between them was removed, or events were reordered or altered`;
    case 'truncated':
      return `the chain's recorded head is not its last event (${found.lastEventId ?? 'none'}): events after it were removed, or the head was altered`;
    case 'head_missing':
      return `the chain's recorded head is missing (last event ${found.lastEventId ?? 'none'})`;
  }
}

/** Returns the exit status: 0 when every chain verifies, 1 otherwise. */
export async function runAuditVerify(core: Core, tenants: Tenant[], scope: Tenant | null, out: Out): Promise<number> {
  const names = new Map(tenants.map((t) => [t.id, t.name]));
  const reports = await core.audit.verify(scope ? { tenantId: scope.id } : {});
  const chainName = (report: AuditChainReport) =>
    report.tenantId === null ? '(no tenant)' : (names.get(report.tenantId) ?? `tenant ${report.tenantId}`);
  const rows = reports.map((report) => ({
    chain: chainName(report),
    events: report.events,
    result: report.firstBreak ? `BROKEN: ${describeBreak(report.firstBreak)}` : 'ok',
    head: report.head,
  }));
  const broken = reports.filter((r) => r.firstBreak !== null);
  const summary = broken.length
    ? `${broken.length} of ${reports.length} audit chain(s) broken.\n`
    : `All ${reports.length} audit chain(s) verify.\n`;
  out(
    reports.map((report) => ({ ...report, chain: chainName(report) })),
    `${table(rows, ['chain', 'events', 'result', 'head'])}${summary}`,
  );
  return broken.length ? 1 : 0;
}
