/**
 * Lingering close (src/server/linger.ts): a body over the limit gets its 413 and the server reads
 * and discards the rest, so the client sees the answer instead of EPIPE; bounded in bytes.
 *
 * The fetch cases run against a server in its own process, as a user runs it (`certkeeper serve`):
 * in one process the client's writes and the server's close interleave on one event loop and the
 * failure hardly shows, while against a separate process Node's fetch got EPIPE for most bodies
 * between 4.5 and 100 MiB before the change. The raw-socket cases make the order explicit: the
 * body is sent only after the 413 has arrived, which failed every time before the change.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LINGER_MAX_BYTES } from '../../src/server/linger.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const NODE = join(ROOT, 'node_modules/.bin/node');
const MiB = 1024 * 1024;

/** Reads from `socket` until `text` holds a whole response (headers and a Content-Length body). */
function nextResponse(socket: Socket): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const headers = text.slice(0, end);
      const length = Number(/content-length: (\d+)/i.exec(headers)?.[1] ?? 0);
      if (text.length < end + 4 + length) return;
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      resolve({ status: Number(headers.split(' ')[1]), headers, body: text.slice(end + 4, end + 4 + length) });
    };
    const onClose = (): void => reject(new Error(`connection closed before a whole response: ${JSON.stringify(text)}`));
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** Writes `bytes` of body in 64 KiB chunks; resolves with how many were written before the socket closed. */
async function sendBody(socket: Socket, bytes: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  while (sent < bytes && !socket.destroyed) {
    const piece = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
    const flushed = socket.write(piece);
    sent += piece.length;
    if (!flushed)
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.removeListener('drain', done);
          socket.removeListener('close', done);
          resolve();
        };
        socket.once('drain', done);
        socket.once('close', done);
      });
  }
  return sent;
}

function postHeaders(path: string, contentLength: number): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n\r\n`;
}

describe('a body over the limit: the 413 reaches the client', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.close());

  for (const path of ['/api/v2/certificate', '/console/api/session', '/nowhere']) {
    it(`${path}: the 413 comes first, the rest of the body is read, the connection stays usable`, async () => {
      const url = new URL(app.baseUrl);
      const socket = connect(Number(url.port), url.hostname);
      const errors: string[] = [];
      socket.on('error', (error: NodeJS.ErrnoException) => errors.push(error.code ?? error.message));
      try {
        const size = app.config.bodyLimitBytes + 2 * MiB;
        socket.write(postHeaders(path, size));
        const refused = await nextResponse(socket);
        assert.equal(refused.status, 413);
        assert.doesNotMatch(refused.headers, /connection: close/i);
        assert.equal(await sendBody(socket, size), size);
        socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        assert.equal((await nextResponse(socket)).status, 200);
        assert.deepEqual(errors, []);
      } finally {
        socket.destroy();
      }
    });
  }

  it('stops reading after LINGER_MAX_BYTES: the server closes the connection', async () => {
    const url = new URL(app.baseUrl);
    const socket = connect(Number(url.port), url.hostname);
    socket.on('error', () => undefined); // EPIPE or ECONNRESET once the server gives up: expected
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    try {
      const size = LINGER_MAX_BYTES * 2;
      socket.write(postHeaders('/api/v2/certificate', size));
      assert.equal((await nextResponse(socket)).status, 413);
      const sent = await sendBody(socket, size);
      await closed;
      assert.ok(sent < size, `the server read all ${sent} bytes`);
    } finally {
      socket.destroy();
    }
  });
});

describe("Node's fetch against `certkeeper serve` in its own process", () => {
  let dataDir: string;
  let child: ChildProcess;
  let baseUrl: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'certkeeper-linger-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CERTKEEPER_DATA_DIR: dataDir,
      CERTKEEPER_PORT: '0',
      CERTKEEPER_LOG_LEVEL: 'warn',
    };
    delete env.DATABASE_URL;
    delete env.CERTKEEPER_MASTER_KEY;
    child = spawn(NODE, ['bin/certkeeper.js', 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const match = /certkeeper listening on (http:\/\/\S+)/.exec(text);
      if (match) {
        baseUrl = match[1] as string;
        return;
      }
      if (child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`certkeeper serve did not come up:\n${text}`);
  });

  after(async () => {
    child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  const outcome = async (init: RequestInit & { duplex?: 'half' }): Promise<string> => {
    try {
      const response = await fetch(`${baseUrl}/api/v2/certificate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        ...init,
      });
      await response.text();
      return String(response.status);
    } catch (error) {
      const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
      return `error ${cause?.code ?? (error as Error).message}`;
    }
  };

  for (const mib of [4.5, 16, 40]) {
    it(`a ${mib} MiB body, three times: 413 each time`, async () => {
      const body = Buffer.alloc(Math.round(mib * MiB), 0x61);
      for (let i = 0; i < 3; i += 1) assert.equal(await outcome({ body }), '413');
    });
  }

  it('a sender that streams 8 MiB in pauses (chunked): 413', async () => {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent >= 8 * MiB) return controller.close();
        await new Promise((resolve) => setTimeout(resolve, 5));
        controller.enqueue(new Uint8Array(256 * 1024));
        sent += 256 * 1024;
      },
    });
    assert.equal(await outcome({ body, duplex: 'half' }), '413');
  });
});
