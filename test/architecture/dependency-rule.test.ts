/**
 * The dependency rule (docs/ARCHITECTURE.md) is enforced by eslint.config.js. These tests lint
 * small made-up files at real paths, so a rule that stops matching fails here, not in review.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

// The made-up files do not exist, so TypeScript's project service cannot type them: the
// type-aware rules are turned off here (they are not what these tests are about).
const eslint = new ESLint({
  cwd: process.cwd(),
  overrideConfig: {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: false } },
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
  },
});

async function restrictedImports(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  assert.ok(result, 'eslint returned a result');
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const cases: Array<{ name: string; file: string; code: string; allowed: boolean }> = [
  {
    name: 'domain may import domain',
    file: 'src/domain/x509/a.ts',
    code: "import { AppError } from '../errors.ts';\nexport { AppError };\n",
    allowed: true,
  },
  {
    name: 'domain may not import core',
    file: 'src/domain/x509/a.ts',
    code: "import { x } from '../../core/ports.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'domain may not import store',
    file: 'src/domain/a.ts',
    code: "import { x } from '../store/db.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'core may import domain',
    file: 'src/core/certificates.ts',
    code: "import { AppError } from '../domain/errors.ts';\nexport { AppError };\n",
    allowed: true,
  },
  {
    name: 'core may not import store',
    file: 'src/core/certificates.ts',
    code: "import { x } from '../store/db.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'core may not import kysely',
    file: 'src/core/certificates.ts',
    code: "import { Kysely } from 'kysely';\nexport { Kysely };\n",
    allowed: false,
  },
  {
    name: 'a face may import core',
    file: 'src/api/ncp/routes.ts',
    code: "import { x } from '../../core/certificates.ts';\nexport { x };\n",
    allowed: true,
  },
  {
    name: 'a face may not import store',
    file: 'src/api/ncp/routes.ts',
    code: "import { x } from '../../store/db.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'a face may not import another face',
    file: 'src/api/ncp/routes.ts',
    code: "import { x } from '../nhn/present.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'a face may not import another face by a longer path',
    file: 'src/api/edge/routes.ts',
    code: "import { x } from '../../api/ncp/auth.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'a module shared by faces may not import store',
    file: 'src/api/ncp-gateway/auth.ts',
    code: "import { x } from '../../store/db.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'a module shared by faces may not import a face',
    file: 'src/api/ncp-gateway/auth.ts',
    code: "import { x } from '../ncp/errors.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'a face may import the shared gateway module',
    file: 'src/api/edge/routes.ts',
    code: "import { x } from '../ncp-gateway/auth.ts';\nexport { x };\n",
    allowed: true,
  },
  {
    name: 'dns may import core ports and domain',
    file: 'src/dns/update.ts',
    code: "import { DcvError } from '../core/issuance/dcv.ts';\nimport { AppError } from '../domain/errors.ts';\nexport { DcvError, AppError };\n",
    allowed: true,
  },
  {
    name: 'dns may not import store',
    file: 'src/dns/update.ts',
    code: "import { x } from '../store/db.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'dns may not import a face',
    file: 'src/dns/resolver.ts',
    code: "import { x } from '../api/ncp/routes.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'dns may not import config',
    file: 'src/dns/resolver.ts',
    code: "import { x } from '../config/load.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'notifiers may import core ports and domain',
    file: 'src/notifiers/index.ts',
    code: "import { DeliveryError } from '../core/notifications/ports.ts';\nimport { AppError } from '../domain/errors.ts';\nexport { DeliveryError, AppError };\n",
    allowed: true,
  },
  {
    name: 'notifiers may not import store',
    file: 'src/notifiers/smtp.ts',
    code: "import { x } from '../store/db.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'notifiers may not import a face',
    file: 'src/notifiers/http.ts',
    code: "import { x } from '../api/console/routes.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'notifiers may not import config',
    file: 'src/notifiers/index.ts',
    code: "import { x } from '../config/load.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'core may not import the notifiers',
    file: 'src/core/notifications/service.ts',
    code: "import { x } from '../../notifiers/index.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'the cli may not import store',
    file: 'src/cli/main.ts',
    code: "import { x } from '../store/db.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'the cli may not import a face',
    file: 'src/cli/main.ts',
    code: "import { x } from '../api/ncp/routes.ts';\nexport { x };\n",
    allowed: false,
  },
];

describe('dependency rule', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const messages = await restrictedImports(c.file, c.code);
      if (c.allowed) assert.deepEqual(messages, []);
      else assert.equal(messages.length, 1, `expected one restricted-import error, got ${JSON.stringify(messages)}`);
    });
  }
});
