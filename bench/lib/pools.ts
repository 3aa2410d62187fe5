/**
 * Real certificates for the benchmark, minted with the in-test PKI (test/helpers/pki.ts):
 *
 * - the seed pool: `count` distinct leaves (each its own P-256 key, 2 DNS names) under one
 *   P-256 root → intermediate chain. They are imported through core (real facts, sealed keys,
 *   counters kept), and their rows are the templates of the bulk-inserted ones.
 * - the import pool: distinct RSA-2048 leaves with a 2-certificate chain (RSA-2048 intermediate
 *   and root), each sent once by the import case. RSA key generation costs about 60 ms a key
 *   here, so the pool is cached in `<tmpdir>/certkeeper-bench/` and reused while every leaf has
 *   more than a week of validity left (the database is fresh in every run, so reusing the same
 *   certificates across runs is sound).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  mintIntermediate,
  mintLeaf,
  mintRoot,
  P256,
  RSA2048,
  type Issued,
  type KeySpec,
} from '../../test/helpers/pki.ts';

export interface PoolLeaf {
  certPem: string;
  keyPem: string;
}

export interface Pool {
  /** intermediate + root PEM, the `certificateChain` of every leaf. */
  chainPem: string;
  leaves: PoolLeaf[];
}

const DAY = 86_400_000;

async function mintPool(
  count: number,
  key: KeySpec,
  cn: (i: number) => string,
  progress?: (done: number) => void,
): Promise<Pool> {
  const root = await mintRoot({ key, freshKey: true, cn: 'certkeeper Bench Root', o: 'certkeeper Bench' });
  const intermediate = await mintIntermediate(root, {
    key,
    freshKey: true,
    cn: 'certkeeper Bench Issuing CA',
    o: 'certkeeper Bench',
  });
  const leaves: PoolLeaf[] = new Array(count);
  const PARALLEL = 16;
  let next = 0;
  let done = 0;
  const one = async (i: number): Promise<void> => {
    const name = cn(i);
    const leaf: Issued = await mintLeaf(intermediate, {
      key,
      freshKey: true,
      cn: name,
      sans: { dns: [name, `www.${name}`] },
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 200 * DAY),
    });
    leaves[i] = { certPem: leaf.pem, keyPem: leaf.keyPem };
    if (++done % 250 === 0) progress?.(done);
  };
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < count) await one(next++);
    }),
  );
  return { chainPem: intermediate.pem + root.pem, leaves };
}

/** Distinct P-256 leaves for seeding, minted fresh (about 2 ms each). */
export function seedPool(count: number): Promise<Pool> {
  return mintPool(count, P256, (i) => `host-${i}.svc${i % 37}.bench.example.com`);
}

interface CachedPool extends Pool {
  version: 1;
  minValidUntil: number;
}

/** Distinct RSA-2048 leaves for the import case, from the cache when it still fits. */
export async function importPool(count: number, log: (line: string) => void): Promise<Pool> {
  const dir = join(tmpdir(), 'certkeeper-bench');
  const file = join(dir, 'import-pool-rsa2048.json');
  try {
    const cached = JSON.parse(await readFile(file, 'utf8')) as CachedPool;
    if (cached.version === 1 && cached.leaves.length >= count && cached.minValidUntil > Date.now() + 7 * DAY) {
      log(`import pool: ${count} RSA-2048 leaves from the cache ${file}`);
      return { chainPem: cached.chainPem, leaves: cached.leaves.slice(0, count) };
    }
  } catch {
    // no cache yet, or unreadable: mint
  }
  log(
    `import pool: minting ${count} RSA-2048 leaves with distinct keys (about 60 ms a key; cached in ${file} for later runs)…`,
  );
  const t0 = performance.now();
  const pool = await mintPool(
    count,
    RSA2048,
    (i) => `import-${i}.bench.example.com`,
    (done) => log(`  ${done}/${count} (${((performance.now() - t0) / 1000).toFixed(0)} s)`),
  );
  await mkdir(dir, { recursive: true });
  const cached: CachedPool = { version: 1, minValidUntil: Date.now() + 199 * DAY, ...pool };
  await writeFile(`${file}.tmp`, JSON.stringify(cached), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  log(`import pool minted in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return pool;
}
