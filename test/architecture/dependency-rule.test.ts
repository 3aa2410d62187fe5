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
  return result.messages
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-globals')
    .map((m) => m.message);
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
    name: 'core may not import a deployer',
    file: 'src/core/deploy/worker.ts',
    code: "import { x } from '../../deployers/index.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'core may not touch the file system',
    file: 'src/core/deploy/worker.ts',
    code: "import { writeFile } from 'node:fs/promises';\nexport { writeFile };\n",
    allowed: false,
  },
  {
    name: 'core may not spawn processes',
    file: 'src/core/provisioning.ts',
    code: "import { spawn } from 'node:child_process';\nexport { spawn };\n",
    allowed: false,
  },
  {
    name: 'core may not call HTTP',
    file: 'src/core/deploy/worker.ts',
    code: 'export const get = (url: string) => fetch(url);\n',
    allowed: false,
  },
  {
    name: 'core may use pure node modules',
    file: 'src/core/deploy/worker.ts',
    code: "import { randomBytes } from 'node:crypto';\nexport { randomBytes };\n",
    allowed: true,
  },
  {
    name: 'a deployer may import the Deployer port',
    file: 'src/deployers/directory.ts',
    code: "import type { Deployer } from '../core/deploy/deployer.ts';\nexport type { Deployer };\n",
    allowed: true,
  },
  {
    name: "a deployer may import core's ports and the domain",
    file: 'src/deployers/webhook.ts',
    code: "import type { Clock } from '../core/ports.ts';\nimport { TLS_PROTOCOLS } from '../domain/edge-slot.ts';\nexport type { Clock };\nexport { TLS_PROTOCOLS };\n",
    allowed: true,
  },
  {
    name: 'a deployer may do I/O',
    file: 'src/deployers/directory.ts',
    code: "import { spawn } from 'node:child_process';\nexport const get = (url: string) => fetch(url);\nexport { spawn };\n",
    allowed: true,
  },
  {
    name: 'a deployer may not import a core use-case',
    file: 'src/deployers/webhook.ts',
    code: "import { x } from '../core/certificates.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: "a deployer may not import core's worker",
    file: 'src/deployers/index.ts',
    code: "import { x } from '../core/deploy/worker.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'a deployer may not import store',
    file: 'src/deployers/directory.ts',
    code: "import { x } from '../store/open.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'a deployer may not import the composition root',
    file: 'src/deployers/index.ts',
    code: "import { x } from '../app/app.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'a deployer may not import a face',
    file: 'src/deployers/webhook.ts',
    code: "import { x } from '../api/edge/present.ts';\nexport { x };\n",
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
  {
    name: 'acme may import domain and the issuance port',
    file: 'src/acme/client.ts',
    code: "import { x } from '../domain/x509/asn1.ts';\nimport { y } from '../core/issuance/issuer.ts';\nexport { x, y };\n",
    allowed: true,
  },
  {
    name: 'acme may not import other core modules',
    file: 'src/acme/client.ts',
    code: "import { x } from '../core/certificates.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'acme may not import store',
    file: 'src/acme/client.ts',
    code: "import { x } from '../store/db.ts';\nexport { x };\n",
    allowed: false,
  },
  {
    name: 'acme may not import a face',
    file: 'src/acme/client.ts',
    code: "import { x } from '../api/ncp/routes.ts';\nexport { x };\n",
    allowed: false,
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
