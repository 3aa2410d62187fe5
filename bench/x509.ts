/**
 * X.509 benchmark: certificates per second for inspect() and for the full import ladder, against
 * the bare minimum done with node:crypto alone (parse leaf and chain, parse the key,
 * checkPrivateKey, verify each link), all measured in the same run and interleaved so that the
 * machine's noise hits every case alike. Ratios, not absolute numbers, are what to compare.
 *
 *   npm run bench:x509            (or: node bench/x509.ts [--seconds 1] [--rounds 5])
 *
 * Target (issue "Project skeleton and the X.509 core"): the full ladder costs at most 3x the bare
 * minimum.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { parseArgs } from 'node:util';
import { inspect } from '../src/domain/x509/inspect.ts';
import { runImportLadder } from '../src/domain/x509/ladder.ts';
import { mintBundle, P256, RSA2048, type KeySpec } from '../test/helpers/pki.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '1' }, rounds: { type: 'string', default: '5' } },
});
const secondsPerRun = Number(values.seconds);
const rounds = Number(values.rounds);

interface Case {
  name: string;
  run: () => void;
}

function measure(fn: () => void, seconds: number): number {
  // Warm up, then count calls within the window.
  for (let i = 0; i < 50; i++) fn();
  let count = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 20; i++) fn();
    count += 20;
  }
  return count / seconds;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

async function casesFor(label: string, key: KeySpec): Promise<{ bare: Case; cases: Case[] }> {
  // Leaf with a 2-certificate chain (intermediate + root), issuers of the same key type.
  const bundle = await mintBundle({ leaf: { key }, rootKey: key, intermediateKey: key });
  const leafPem = bundle.leaf.pem;
  const keyPem = bundle.leaf.keyPem;
  const chainPem = bundle.chainPem;
  const input = { name: 'bench-cert', certificate: leafPem, privateKey: keyPem, chain: chainPem };
  const policy = {
    now: new Date(),
    requireKey: true,
    allowEd25519: true,
    nameRule: { test: (n: string) => /^[A-Za-z][A-Za-z0-9-]{2,19}$/.test(n), description: 'NCP rule' },
  };

  const bare: Case = {
    name: `${label} bare node:crypto`,
    run: () => {
      const leaf = new X509Certificate(leafPem);
      const intermediate = new X509Certificate(bundle.intermediate.pem);
      const root = new X509Certificate(bundle.root.pem);
      const privateKey = createPrivateKey(keyPem);
      if (!leaf.checkPrivateKey(privateKey)) throw new Error('key mismatch');
      if (!leaf.verify(intermediate.publicKey) || !intermediate.verify(root.publicKey)) throw new Error('chain');
    },
  };
  return {
    bare,
    cases: [
      { name: `${label} inspect()`, run: () => void inspect(new X509Certificate(leafPem)) },
      { name: `${label} full ladder`, run: () => void runImportLadder(input, policy) },
    ],
  };
}

const groups = [await casesFor('RSA-2048', RSA2048), await casesFor('P-256', P256)];
console.log(`node ${process.version}, ${rounds} rounds x ${secondsPerRun}s per case, interleaved; median of rounds\n`);
const results: string[] = [];
for (const group of groups) {
  const all = [group.bare, ...group.cases];
  const samples = new Map<string, number[]>(all.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of all) samples.get(c.name)?.push(measure(c.run, secondsPerRun));
  }
  const bareRate = median(samples.get(group.bare.name) ?? []);
  for (const c of all) {
    const rate = median(samples.get(c.name) ?? []);
    const costRatio = bareRate / rate;
    results.push(
      `${c.name.padEnd(32)} ${rate.toFixed(0).padStart(8)} certs/s   ${(1e6 / rate).toFixed(1).padStart(8)} µs/cert   cost ${costRatio.toFixed(2)}x bare`,
    );
  }
}
console.log(results.join('\n'));
