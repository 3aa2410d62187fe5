// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The dependency rule of docs/ARCHITECTURE.md, enforced here:
 *
 *   domain  <-  core  <-  { api/<face>, cli }      store implements core's ports
 *
 * - domain/ is pure: it imports nothing of ours outside domain/.
 * - core/ imports domain/ only (and its own ports); never store/, api/, cli/, server/, deployers/.
 *   It does no I/O of its own: no file system, processes or HTTP (deployers/ does that).
 * - deployers/ implements core's Deployer port: it imports core's ports and domain/ only.
 * - an API face never imports store/ or another face.
 * - only the composition root (src/app/) wires store/ into core/.
 */
const FACES = ['ncp', 'edge', 'nhn', 'console', 'acm'];
const DEPLOYERS_WHY =
  "deployers/ implements core's Deployer port: it imports core/ports.ts, core/deploy/deployer.ts and domain/ only (docs/ARCHITECTURE.md).";
/** Node modules that touch the file system, processes or the network: never in core/. */
const CORE_IO = [
  'fs',
  'fs/*',
  'node:fs',
  'node:fs/*',
  'child_process',
  'node:child_process',
  'http',
  'https',
  'node:http',
  'node:https',
  'http2',
  'node:http2',
  'undici',
];
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
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                ...ours('store'),
                ...ours('api'),
                ...ours('cli'),
                ...ours('app'),
                ...ours('deployers'),
                ...ours('notifiers'),
                'fastify',
                'kysely',
                'better-sqlite3',
                'pg',
                'nodemailer',
              ],
              message:
                'core/ depends on domain/ and its own ports only; store/ and deployers/ implement the ports (docs/ARCHITECTURE.md).',
            },
            {
              group: CORE_IO,
              message:
                'core/ does no I/O: files, processes and HTTP belong behind a port (src/deployers/, src/store/).',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'fetch', message: 'core/ does no I/O: HTTP belongs behind a port (src/deployers/webhook.ts).' },
      ],
    },
  },
  {
    // The Deployer port's implementations (file writes, reload commands, webhooks): core's ports
    // and the domain only, so a target kind never reaches into use-cases, the store or a face.
    files: ['src/deployers/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // Any module of core/ but its ports and the Deployer port.
              regex: '(^|/)core(/(?!ports\\.ts$|deploy/deployer\\.ts$)|$)',
              message: DEPLOYERS_WHY,
            },
            {
              group: [
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
              message: DEPLOYERS_WHY,
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/store/**/*.ts'],
    rules: forbid(
      [...ours('api'), ...ours('cli'), ...ours('app'), 'fastify'],
      'store/ implements core ports; it knows no face.',
    ),
  },
  {
    // src/acme/: the ACME client, an I/O adapter like store/. It implements core's issuance port
    // and may import domain/, core/ports.ts and core/issuance/ only: no other core module, no face.
    files: ['src/acme/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
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
              message: 'acme/ implements the issuance port; it knows no store, face, server or config.',
            },
            {
              regex: '(^|/)core/(?!ports\\.ts$|issuance/)',
              message: 'acme/ may import core/ports.ts and core/issuance/ only (docs/ARCHITECTURE.md).',
            },
          ],
        },
      ],
    },
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
