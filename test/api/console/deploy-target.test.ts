/**
 * The deployment target in the console: shown to every role with its files, modes, last
 * deployment and the equivalent `certkeeper target set` command; changed only when the server runs
 * with CERTKEEPER_CONSOLE_TARGET_EDIT=on and the session's role may manage targets, through core's
 * `targets.update` (the CLI's partial update and missing-folder rule), CSRF-checked and audited.
 * Bad bodies are 400 naming their fields, and nothing is written. On every store target.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, TestClock, type TestApp } from '../../helpers/app.ts';
import { storeTargets } from '../../helpers/db.ts';
import { loggedIn, NOW, type ConsoleClient } from './helpers.ts';

const PATH = '/console/api/deploy-target';

for (const store of storeTargets) {
  describe(`console deployment target on ${store.name}`, { skip: store.skip }, () => {
    let on: TestApp;
    let off: TestApp;
    let admin: ConsoleClient;
    let viewer: ConsoleClient;
    let offAdmin: ConsoleClient;
    let dir: string;

    /** The stored target, read through core (what the worker would use). */
    const stored = async (app: TestApp) => (await app.app.core.targets.get(app.main.actor))?.spec ?? null;
    const auditOf = async (app: TestApp) =>
      app.app.core.audit.list(app.main.actor, { action: 'deploy-target.set', limit: 50 });

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'certkeeper-console-target-'));
      on = await startTestApp({
        store: store.name,
        clock: new TestClock(NOW),
        env: { CERTKEEPER_CONSOLE_TARGET_EDIT: 'on' },
      });
      off = await startTestApp({ store: store.name, clock: new TestClock(NOW) });
      admin = await loggedIn(on, on.main.admin);
      viewer = await loggedIn(on, on.main.viewer);
      offAdmin = await loggedIn(off, off.main.admin);
    });
    after(async () => {
      await on?.close();
      await off?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('switched off (the default): shown read-only with the command to copy; a change is 403 naming the variable', async () => {
      await off.app.core.targets.set(off.main.actor, {
        kind: 'directory',
        path: dir,
        reloadCommand: "nginx -g 'pid /run/x y.pid;' -s reload",
        reloadTimeoutMs: 5_000,
      });
      const shown = await offAdmin.request('GET', PATH);
      assert.equal(shown.status, 200, shown.text);
      assert.deepEqual(shown.body.edit, {
        switchedOn: false,
        allowed: false,
        variable: 'CERTKEEPER_CONSOLE_TARGET_EDIT',
      });
      assert.equal(
        shown.body.command,
        `certkeeper target set --tenant default directory --path ${dir} --reload-command 'nginx -g '\\''pid /run/x y.pid;'\\'' -s reload' --reload-timeout 5s`,
      );
      const before = await stored(off);
      const refused = await offAdmin.request('PUT', PATH, { kind: 'directory', reloadCommand: 'true' });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.code, 'target_edit_off');
      assert.match(refused.body.error.message, /CERTKEEPER_CONSOLE_TARGET_EDIT=on/);
      assert.deepEqual(await stored(off), before, 'nothing written');
    });

    it('shows a directory target in full: layout, modes, the last deployment (none yet)', async () => {
      assert.deepEqual((await viewer.request('GET', PATH)).body.target, null);
      await on.app.core.targets.set(on.main.actor, { kind: 'directory', path: dir, reloadCommand: 'nginx -s reload' });
      const shown = await viewer.request('GET', PATH);
      assert.equal(shown.status, 200);
      const { target } = shown.body;
      assert.deepEqual(
        [target.kind, target.path, target.reloadCommand, target.reloadTimeoutMs],
        ['directory', dir, 'nginx -s reload', 10_000],
      );
      assert.deepEqual(
        target.files.map((f: { path: string; mode: string }) => [f.path, f.mode]),
        [
          [`${dir}/<slot>/`, '0700'],
          [`${dir}/<slot>/fullchain.pem`, '0644'],
          [`${dir}/<slot>/privkey.pem`, '0600'],
          [`${dir}/<slot>/global/<certificate name>/`, '0700'],
          [`${dir}/by-name/<certificate name>`, 'symlink'],
        ],
      );
      assert.equal(shown.body.lastDeployment, null);
      assert.deepEqual(shown.body.edit, {
        switchedOn: true,
        allowed: false,
        variable: 'CERTKEEPER_CONSOLE_TARGET_EDIT',
      });
      assert.equal((await admin.request('GET', PATH)).body.edit.allowed, true);
    });

    it('a VIEWER is refused even when switched on, and nothing changes', async () => {
      const before = await stored(on);
      const refused = await viewer.request('PUT', PATH, { kind: 'directory', reloadCommand: 'true' });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.code, 'permission_denied');
      assert.deepEqual(await stored(on), before);
    });

    it('changes one setting and keeps the others, audited as the session credential', async () => {
      await on.app.core.targets.set(on.main.actor, {
        kind: 'directory',
        path: dir,
        reloadCommand: 'nginx -s reload',
        reloadTimeoutMs: 7_000,
      });
      const changed = await admin.request('PUT', PATH, { kind: 'directory', reloadCommand: 'systemctl reload nginx' });
      assert.equal(changed.status, 200, changed.text);
      assert.deepEqual(
        [changed.body.target.path, changed.body.target.reloadCommand, changed.body.target.reloadTimeoutMs],
        [dir, 'systemctl reload nginx', 7_000],
      );
      assert.equal(changed.body.createdDirectory, false);
      assert.deepEqual(await stored(on), {
        kind: 'directory',
        path: dir,
        reloadCommand: ['systemctl', 'reload', 'nginx'],
        reloadTimeoutMs: 7_000,
      });
      const [event] = await auditOf(on);
      assert.deepEqual(
        [event?.actor, event?.result, event?.detail.kind],
        [on.main.admin.accessKey, 'success', 'directory'],
      );
      // An empty command removes it; the path and the timeout stay.
      const removed = await admin.request('PUT', PATH, { kind: 'directory', reloadCommand: '' });
      assert.deepEqual([removed.body.target.reloadCommand, removed.body.target.path], [null, dir]);
    });

    it('a folder that does not exist: refused, or created when asked (as the CLI)', async () => {
      const missing = join(dir, 'new', 'deeper');
      const before = await stored(on);
      const refused = await admin.request('PUT', PATH, { kind: 'directory', path: missing });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.field, 'path');
      assert.match(refused.body.error.message, /does not exist/);
      assert.deepEqual(await stored(on), before, 'unchanged');
      await assert.rejects(stat(missing), { code: 'ENOENT' });
      const created = await admin.request('PUT', PATH, { kind: 'directory', path: missing, create: true });
      assert.equal(created.status, 200, created.text);
      assert.equal(created.body.createdDirectory, true);
      assert.equal((await stat(missing)).isDirectory(), true);
      assert.equal(created.body.target.path, missing);
    });

    it('refuses bad bodies with 400 naming the fields, and writes nothing', async () => {
      const before = await stored(on);
      const failures = async () => (await auditOf(on)).filter((e) => e.result === 'failure').length;
      const failedBefore = await failures();
      const cases: Array<[string, unknown, string[]]> = [
        [
          'wrong types, every field at once',
          { kind: 'directory', path: 5, reloadCommand: [], reloadTimeoutMs: '10s', create: 'yes' },
          ['path', 'reloadCommand', 'reloadTimeoutMs', 'create'],
        ],
        ['no kind', { path: dir }, ['kind']],
        ['an unknown kind', { kind: 'ftp' }, ['kind']],
        ['a relative path', { kind: 'directory', path: 'certs' }, ['path']],
        ['an oversized path', { kind: 'directory', path: `/${'a'.repeat(5000)}` }, ['path']],
        ['an oversized command', { kind: 'directory', reloadCommand: `x${' y'.repeat(3000)}` }, ['reloadCommand']],
        ['a shell command', { kind: 'directory', reloadCommand: 'nginx -s reload && rm -rf /' }, ['reloadCommand']],
        ['a timeout out of range', { kind: 'directory', reloadTimeoutMs: 0 }, ['reloadTimeout']],
        ['a NUL in the path', { kind: 'directory', path: `${dir}/a\u0000b` }, ['path']],
        ['a NUL in the command', { kind: 'directory', reloadCommand: 'nginx\u0000 -s reload' }, ['reloadCommand']],
        ['a plain-http webhook', { kind: 'webhook', url: 'http://example.com/hook' }, ['url']],
        ['not an object', ['directory'], []],
      ];
      for (const [label, body, fields] of cases) {
        const response = await admin.request('PUT', PATH, body);
        assert.equal(response.status, 400, `${label}: ${response.text}`);
        const named = response.body.error.errors
          ? response.body.error.errors.map((e: { field?: string }) => e.field)
          : [response.body.error.field].filter((f) => f !== undefined);
        assert.deepEqual(named, fields, label);
      }
      assert.deepEqual(await stored(on), before, 'nothing written');
      // The six refused by core's checks (not the face's type checks or the server's NUL check) are audited.
      assert.equal((await failures()) - failedBefore, 6);
    });

    it('a write without the CSRF token or from another origin is refused', async () => {
      const before = await stored(on);
      const noToken = await admin.request(
        'PUT',
        PATH,
        { kind: 'directory', reloadCommand: 'true' },
        { 'x-csrf-token': '' },
      );
      assert.equal(noToken.status, 403);
      const crossSite = await admin.request(
        'PUT',
        PATH,
        { kind: 'directory', reloadCommand: 'true' },
        { origin: 'https://evil.example' },
      );
      assert.equal(crossSite.status, 403);
      assert.deepEqual(await stored(on), before);
    });
  });
}
