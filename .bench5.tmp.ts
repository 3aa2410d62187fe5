import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from './src/domain/x509/inspect.ts';
import { mintBundle, RSA2048 } from './test/helpers/pki.ts';
const b = await mintBundle({ rootKey: RSA2048, intermediateKey: RSA2048, leaf: { key: RSA2048, sans: { dns: ['a.example.com', 'www.a.example.com'] } } });
const cases: Record<string, Buffer> = {
  'RSA-2048 leaf, issued': new X509Certificate(b.leaf.pem).raw,
  'EC P-384 leaf, issued (fixture)': new X509Certificate(readFileSync('test/fixtures/x509/ec-p384-leaf.pem')).raw,
  'RSA-2048 self-signed (fixture)': new X509Certificate(readFileSync('test/fixtures/x509/rsa2048-self-signed.pem')).raw,
};
for (const [name, der] of Object.entries(cases)) {
  const n = 3000;
  let best = Infinity, bestBase = Infinity;
  for (let r = 0; r < 15; r++) {
    const certs = Array.from({ length: n }, () => new X509Certificate(der));
    let s = process.hrtime.bigint();
    for (const c of certs) inspect(c);
    best = Math.min(best, Number(process.hrtime.bigint() - s) / n / 1000);
    s = process.hrtime.bigint();
    for (let i = 0; i < n; i++) new X509Certificate(der);
    bestBase = Math.min(bestBase, Number(process.hrtime.bigint() - s) / n / 1000);
  }
  console.log(`${name}: inspect() ${best.toFixed(1)} µs (best of 15 x ${n}); new X509Certificate(der) ${bestBase.toFixed(1)} µs`);
}
