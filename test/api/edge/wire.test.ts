/**
 * The Global Edge error table against docs/compat/edge.md (every code the face answers is listed
 * there, every core code is mapped), the ISO date forms, and the dependency rule for the shared
 * NCP gateway module (both NCP faces may import it; neither may import the other).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ESLint } from 'eslint';
import { isoMillis, isoSeconds } from '../../../src/api/edge/dates.ts';
import { EDGE_CODES, ERROR_TABLE } from '../../../src/api/edge/errors.ts';
import { GATEWAY_ERRORS } from '../../../src/api/ncp-gateway/errors.ts';
import { ERROR_CODES } from '../../../src/domain/errors.ts';

describe('Global Edge wire: the error table', () => {
  const doc = readFileSync(new URL('../../../docs/compat/edge.md', import.meta.url), 'utf8');

  it('maps every core code; docs/compat/edge.md lists every code the face answers and every core code', () => {
    assert.deepEqual(Object.keys(ERROR_TABLE).sort(), [...ERROR_CODES].sort());
    for (const { code, status } of Object.values(EDGE_CODES))
      assert.match(doc, new RegExp(`\\| \`${code}\` \\| ${status} \\|`), `code ${code} (HTTP ${status}) is in edge.md`);
    const gateways = new Set(
      Object.values(ERROR_TABLE).flatMap((w) => (w.kind === 'gateway' ? [GATEWAY_ERRORS[w.gateway]] : [])),
    );
    for (const g of [...gateways, GATEWAY_ERRORS.notFound, GATEWAY_ERRORS.entityTooLarge, GATEWAY_ERRORS.badRequest])
      assert.match(
        doc,
        new RegExp(`\\| \`${g.errorCode}\` \\| ${g.status} \\|`),
        `gateway ${g.errorCode} is in edge.md`,
      );
    for (const code of ERROR_CODES.filter(
      (c) =>
        !c.startsWith('chain_') &&
        !c.startsWith('pem_') &&
        ![
          'input_too_large',
          'certificate_missing',
          'certificate_multiple',
          'certificate_invalid',
          'key_multiple',
          'key_invalid',
          'key_encrypted',
          'key_mismatch',
          'key_type_unsupported',
        ].includes(c),
    )) {
      assert.ok(doc.includes(`\`${code}\``), `${code} is in edge.md`);
    }
  });
});

describe('Global Edge wire: dates', () => {
  it('expirationDate in whole seconds; provisionDate with trimmed milliseconds, as the seed', () => {
    assert.equal(isoSeconds(new Date('2025-11-05T23:59:59.000Z')), '2025-11-05T23:59:59Z');
    assert.equal(isoMillis(new Date('2025-08-07T01:22:34.076Z')), '2025-08-07T01:22:34.076Z');
    assert.equal(isoMillis(new Date('2025-08-07T00:34:58.990Z')), '2025-08-07T00:34:58.99Z');
    assert.equal(isoMillis(new Date('2025-08-07T00:34:58.500Z')), '2025-08-07T00:34:58.5Z');
    assert.equal(isoMillis(new Date('2025-08-07T00:34:58.000Z')), '2025-08-07T00:34:58Z');
  });
});

describe('dependency rule: the shared NCP gateway module', () => {
  const eslint = new ESLint({ cwd: process.cwd() });
  const restricted = async (filePath: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath });
    return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').length;
  };
  for (const face of ['edge', 'ncp']) {
    it(`the ${face} face may import src/api/ncp-gateway`, async () => {
      assert.equal(
        await restricted(
          `src/api/${face}/routes.ts`,
          "import { ncpAuth } from '../ncp-gateway/auth.ts';\nexport { ncpAuth };\n",
        ),
        0,
      );
    });
  }
  it('the edge face may not import the NCP face, nor the NCP face the edge face', async () => {
    assert.equal(
      await restricted('src/api/edge/routes.ts', "import { x } from '../ncp/errors.ts';\nexport { x };\n"),
      1,
    );
    assert.equal(
      await restricted('src/api/ncp/routes-v1.ts', "import { x } from '../edge/errors.ts';\nexport { x };\n"),
      1,
    );
  });
});
