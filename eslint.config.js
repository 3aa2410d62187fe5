// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The dependency rule of docs/ARCHITECTURE.md, enforced here:
 *
 *   domain  <-  core  <-  { api/<face>, cli }      store implements core's ports
 *
 * - domain/ is pure: it imports nothing of ours outside domain/.
 * - core/ imports domain/ only (and its own ports); never store/, api/, cli/, server/.
 * - an API face never imports store/ or another face.
 * - only the composition root (src/app/) wires store/ into core/.
 */
const FACES = ['ncp', 'edge', 'nhn', 'console'];
const ours = (dir) => [`**/${dir}/**`, `**/${dir}`];

/** @param {string[]} groups @param {string} why */
const forbid = (groups, why) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: groups, message: why }] }],
});

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'test-results/', 'web/dist/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        AbortController: 'readonly',
        structuredClone: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        fetch: 'readonly',
        performance: 'readonly',
        queueMicrotask: 'readonly',
        setImmediate: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    // Type-aware rules: a promise nobody awaits loses its rejection (an unhandled rejection ends
    // the process), and an async function handed to a callback slot that ignores its result does
    // the same. node:test's describe/it/before/after return promises the runner tracks itself.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: forbid(
      [
        ...ours('core'),
        ...ours('store'),
        ...ours('api'),
        ...ours('cli'),
        ...ours('app'),
        ...ours('config'),
        ...ours('auth'),
        'fastify',
        'kysely',
        'better-sqlite3',
        'pg',
      ],
      'domain/ is pure: it depends on nothing of ours outside domain/ (docs/ARCHITECTURE.md).',
    ),
  },
  {
    files: ['src/core/**/*.ts'],
    rules: forbid(
      [
        ...ours('store'),
        ...ours('api'),
        ...ours('cli'),
        ...ours('app'),
        ...ours('notifiers'),
        'fastify',
        'kysely',
        'better-sqlite3',
        'pg',
        'nodemailer',
      ],
      'core/ depends on domain/ and its own ports only; store/ implements the ports (docs/ARCHITECTURE.md).',
    ),
  },
  {
    files: ['src/store/**/*.ts'],
    rules: forbid(
      [...ours('api'), ...ours('cli'), ...ours('app'), 'fastify'],
      'store/ implements core ports; it knows no face.',
    ),
  },
  ...FACES.map((face) => ({
    files: [`src/api/${face}/**/*.ts`],
    rules: forbid(
      [
        ...ours('store'),
        ...ours('cli'),
        ...ours('app'),
        'kysely',
        'better-sqlite3',
        'pg',
        ...FACES.filter((f) => f !== face).flatMap((f) => [`**/api/${f}/**`, `../${f}/**`, `../${f}`]),
      ],
      `an API face talks to core only: it never imports store/ or another face (docs/ARCHITECTURE.md).`,
    ),
  })),
  {
    // Modules shared by several faces (e.g. ncp-gateway: the NCP API Gateway auth and envelopes
    // that the NCP and Global Edge faces both speak) follow the faces' rule and import no face.
    files: ['src/api/**/*.ts'],
    ignores: FACES.map((face) => `src/api/${face}/**`),
    rules: forbid(
      [
        ...ours('store'),
        ...ours('cli'),
        ...ours('app'),
        'kysely',
        'better-sqlite3',
        'pg',
        ...FACES.flatMap((f) => [`**/api/${f}/**`, `../${f}/**`, `../${f}`]),
      ],
      'a module shared by faces talks to core only and imports no face (docs/ARCHITECTURE.md).',
    ),
  },
  {
    // dns/: the DNS adapter (RFC 2136 updates with TSIG, resolver queries) implementing core's
    // issuance ports (core/issuance/dcv.ts); like store/, it imports core's ports and domain only.
    files: ['src/dns/**/*.ts'],
    rules: forbid(
      [
        ...ours('store'),
        ...ours('api'),
        ...ours('cli'),
        ...ours('app'),
        ...ours('server'),
        ...ours('config'),
        'fastify',
        'kysely',
        'better-sqlite3',
        'pg',
      ],
      'dns/ implements core ports (core/issuance/dcv.ts); it imports core and domain only (docs/ARCHITECTURE.md).',
    ),
  },
  {
    // notifiers/: the notification senders (webhook, Slack, SMTP) implementing core's
    // NotificationSender port (core/notifications/ports.ts); like dns/, core and domain only.
    files: ['src/notifiers/**/*.ts'],
    rules: forbid(
      [
        ...ours('store'),
        ...ours('api'),
        ...ours('cli'),
        ...ours('app'),
        ...ours('server'),
        ...ours('config'),
        'fastify',
        'kysely',
        'better-sqlite3',
        'pg',
      ],
      'notifiers/ implement core ports (core/notifications/ports.ts); they import core and domain only (docs/ARCHITECTURE.md).',
    ),
  },
  {
    files: ['src/server/**/*.ts'],
    rules: forbid(
      [...ours('store'), ...ours('api'), ...ours('cli'), ...ours('app'), 'kysely', 'better-sqlite3', 'pg'],
      'server/ is the HTTP mechanism: faces plug into it, the store reaches it only through core ports.',
    ),
  },
  {
    files: ['src/auth/**/*.ts'],
    rules: forbid(
      [
        ...ours('core'),
        ...ours('store'),
        ...ours('api'),
        ...ours('cli'),
        ...ours('app'),
        ...ours('server'),
        'fastify',
        'kysely',
        'better-sqlite3',
        'pg',
      ],
      'auth/ holds pure verification logic: it depends on domain/ only.',
    ),
  },
  {
    // web/: the console's browser code (plain ES modules, no build). It runs in the browser and
    // talks to the server over HTTP only: it imports nothing but its own relative modules.
    files: ['web/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'navigator',
          'history',
          'fetch',
          'URL',
          'URLSearchParams',
          'FormData',
          'Blob',
          'File',
          'btoa',
          'Intl',
          'Node',
          'Event',
          'HashChangeEvent',
          'SubmitEvent',
          'AbortController',
          'AbortSignal',
          'HTMLElement',
          'HTMLInputElement',
          'HTMLTextAreaElement',
          'HTMLSelectElement',
          'HTMLButtonElement',
          'HTMLDialogElement',
          'HTMLFormElement',
          'setTimeout',
          'clearTimeout',
          'setInterval',
          'clearInterval',
          'console',
        ].map((name) => [name, 'readonly']),
      ),
    },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\.{1,2}/)',
              message: 'web/ talks HTTP only: it imports its own relative modules, never a package.',
            },
            {
              group: [...ours('src'), '**/node_modules/**'],
              message: 'web/ talks HTTP only: it never imports server code (docs/ARCHITECTURE.md).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: forbid(
      [...ours('api'), ...ours('store'), 'fastify', 'kysely', 'better-sqlite3', 'pg'],
      'cli/ calls core through the composition root (src/app/), never store/ or a face.',
    ),
  },
);
