/**
 * A child process for test/store/counters-kill.test.ts: opens the store given as JSON in argv[2]
 * (`{ dataDir, databaseUrl?, masterKey, tenantId, seed }`) and writes until it is killed:
 * imports whose notAfter spreads over hours and days, and deletions of some of them (purged or
 * not). Prints a line after each committed write, so the parent kills it in the middle of one.
 */
import { openStore } from '../../src/store/open.ts';
import { newCertificate } from './db.ts';

const { dataDir, databaseUrl, masterKey, tenantId, seed } = JSON.parse(process.argv[2]!) as {
  dataDir: string;
  databaseUrl?: string;
  masterKey: string;
  tenantId: number;
  seed: number;
};
const store = await openStore({ dataDir, ...(databaseUrl ? { databaseUrl } : {}), masterKey });
const base = Date.UTC(2026, 10, 10);
const live: number[] = [];
for (let i = 0; ; i++) {
  const notAfter = base + (((seed + i * 7919) % 200) - 100) * 1_800_000 + i;
  const { certificateNo } = await store.certificates.insert(
    newCertificate(tenantId, { facts: { notBefore: new Date(notAfter - 86_400_000), notAfter: new Date(notAfter) } }),
    new Date(base),
  );
  live.push(certificateNo);
  if (i % 3 === 2)
    await store.certificates.markDeleted(tenantId, live.shift()!, new Date(base), { purge: i % 2 === 0 });
  process.stdout.write(`${i}\n`);
}
