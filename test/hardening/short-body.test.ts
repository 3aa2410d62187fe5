/**
 * Issue 22: a body that stops short of its Content-Length (the client went away) is one info line,
 * not an "unhandled error" at level 50 with a stack that any client could write at will.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { openApp, type App } from '../../src/app/app.ts';
import { buildFaces } from '../../src/app/faces.ts';
import { loadConfig } from '../../src/config/config.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { NOW } from '../api/console/helpers.ts';
import { TestClock } from '../helpers/app.ts';
import { freshSqlite, testMasterKey, type TestLocation } from '../helpers/db.ts';
import { LogCollector } from '../server/helpers.ts';

describe('a body cut short by a client that goes away', () => {
  const logs = new LogCollector();
  let location: TestLocation;
  let opened: App;
  let server: RunningServer;

  before(async () => {
    location = await freshSqlite();
    const config = loadConfig({
      CERTKEEPER_DATA_DIR: location.dataDir,
      CERTKEEPER_PORT: '0',
      CERTKEEPER_LOG_LEVEL: 'info',
      CERTKEEPER_MASTER_KEY: testMasterKey(),
    });
    opened = await openApp(config, { clock: new TestClock(NOW) });
    server = await startServer({
      config,
      store: opened.store,
      clock: new TestClock(NOW),
      faces: buildFaces(opened.core, config),
      logStream: logs,
    });
  });
  after(async () => {
    await server?.close();
    await opened?.close();
    await location?.cleanup();
  });

  /** Sends the head and part of the body, then closes the connection; resolves when closed. */
  function shortBody(path: string, contentType: string, part: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.write(
          `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nOrigin: http://127.0.0.1:${server.port}\r\n` +
            `Content-Type: ${contentType}\r\nContent-Length: 1000\r\n\r\n${part}`,
        );
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
  }

  it('is logged once at info, without a stack', async () => {
    // The two routes that read a body before any authentication (the others refuse first).
    const cases: Array<[string, string, string]> = [
      ['/console/api/session', 'application/json', '{"accessKey":"'],
      ['/oauth2/token/create', 'application/x-www-form-urlencoded', 'grant_type=client_'],
    ];
    for (const [path, type, part] of cases) await shortBody(path, type, part);
    // The server sees the close after the client's; give it a moment to log.
    const deadline = Date.now() + 5000;
    const gone = () => logs.records().filter((r) => r.msg === 'client went away before the body ended');
    while (gone().length < cases.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

    const records = logs.records();
    assert.deepEqual(
      records.filter((r) => Number(r.level) >= 40).map((r) => r.msg),
      [],
      'no warning or error line',
    );
    assert.equal(gone().length, cases.length, logs.text);
    for (const record of gone()) {
      assert.equal(record.level, 30);
      assert.equal(record.err, undefined);
      assert.ok(!JSON.stringify(record).includes('stack'));
    }
    // One line per request about it: the request ids of the lines are distinct.
    assert.equal(new Set(gone().map((r) => r.reqId)).size, cases.length);
  });
});
