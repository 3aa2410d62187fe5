/**
 * The upload's size cap is enforced while streaming, over raw sockets: with a Content-Length over
 * the cap the answer comes before any body byte is sent; a chunked body is cut off once over;
 * a refused but bounded body is drained so the connection stays usable.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { TestApp } from '../../helpers/app.ts';
import { storeTargets } from '../../helpers/db.ts';
import { authFor, fileUrl, makeCa, makeLeaf, multipart, MULTIPART_TYPE, nhnFile, startNhnApp } from './helpers.ts';

const CAP = 524_288;
const FRAMING = 16_384;

/** Sends `head` (and optionally more) on a fresh socket; resolves with everything read until the server closes or `until` matches. */
function exchange(
  app: TestApp,
  writes: Buffer[],
  until?: (text: string) => boolean,
): Promise<{ text: string; closedByServer: boolean }> {
  const url = new URL(app.baseUrl);
  return new Promise((resolve, reject) => {
    let text = '';
    const socket: Socket = connect(Number(url.port), url.hostname, () => {
      for (const chunk of writes) socket.write(chunk);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer; got ${JSON.stringify(text.slice(0, 300))}`));
    }, 5000);
    socket.on('data', (data) => {
      text += data.toString('latin1');
      if (until?.(text)) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ text, closedByServer: false });
      }
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve({ text, closedByServer: true });
    });
    socket.on('error', reject);
  });
}

function head(path: string, headers: Record<string, string>): Buffer {
  return Buffer.from(
    `POST ${path} HTTP/1.1\r\nHost: localhost\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`,
  );
}

const bodyOf = (response: string): unknown => JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));

/** The whole JSON answer has arrived (the server then lingers for the unsent body: server/linger.ts). */
const answered = (text: string): boolean => text.includes('\r\n\r\n') && text.trimEnd().endsWith('}');

for (const target of storeTargets) {
  describe(`NHN upload streaming on ${target.name}`, { skip: target.skip }, () => {
    let app: TestApp;
    let keys: Record<string, string>;
    let path: string;

    before(async () => {
      app = await startNhnApp(target.name);
      keys = await authFor(app, 'v1.1', app.main.admin);
      path = new URL(fileUrl(app, 'v1.1', 'www.example.com')).pathname;
    });
    after(() => app?.close());

    it('Content-Length over the cap: 413 with 52008 before a single body byte is sent', async () => {
      const { text } = await exchange(
        app,
        [head(path, { ...keys, 'content-type': MULTIPART_TYPE, 'content-length': '10000000' })],
        answered,
      );
      assert.match(text, /^HTTP\/1\.1 413 /);
      assert.deepEqual(bodyOf(text), {
        header: {
          resultCode: 52008,
          resultMessage: 'Maximum permitted size is 524288 bytes. But, requested 10000000 bytes.',
          isSuccessful: false,
        },
        body: {},
      });
    });

    it('a Content-Length just over cap + framing (540,672) is refused up front', async () => {
      const over = await exchange(
        app,
        [head(path, { ...keys, 'content-type': MULTIPART_TYPE, 'content-length': String(CAP + FRAMING + 1) })],
        answered,
      );
      assert.match(over.text, /^HTTP\/1\.1 413 /);
      assert.match(over.text, /requested 540673 bytes/);
    });

    it('no authentication, huge body: 401 before reading a byte of it', async () => {
      const { text } = await exchange(
        app,
        [head(path, { 'content-type': MULTIPART_TYPE, 'content-length': '10000000' })],
        answered,
      );
      assert.match(text, /^HTTP\/1\.1 401 /);
    });

    it('chunked, over the cap: reading stops once over, 413 with 52008', async () => {
      const url = new URL(fileUrl(app, 'v1.1', 'www.example.com'));
      const result = await new Promise<{ status: number; body: string; sent: number; connection: string | undefined }>(
        (resolve, reject) => {
          let sent = 0;
          let answered = false;
          const req = request(
            url,
            { method: 'POST', headers: { ...keys, 'content-type': MULTIPART_TYPE, 'transfer-encoding': 'chunked' } },
            (res) => {
              answered = true;
              let body = '';
              res.on('data', (d: Buffer) => (body += d.toString()));
              res.on('end', () =>
                resolve({ status: res.statusCode ?? 0, body, sent, connection: res.headers.connection }),
              );
            },
          );
          req.on('error', (error) => (answered ? undefined : reject(error)));
          req.write(
            `------certkeeper-test-boundary\r\nContent-Disposition: form-data; name="file"; filename="big.pem"\r\n\r\n`,
          );
          const chunk = Buffer.alloc(16_384, 'A');
          const pump = () => {
            while (!answered && sent < 64 * 1024 * 1024) {
              sent += chunk.length;
              if (!req.write(chunk)) return void req.once('drain', pump);
            }
            if (!answered) req.end();
          };
          pump();
        },
      );
      assert.equal(result.status, 413);
      const message = (JSON.parse(result.body) as { header: { resultCode: number; resultMessage: string } }).header;
      assert.equal(message.resultCode, 52008);
      const requested = Number(/requested (\d+) bytes/.exec(message.resultMessage)?.[1]);
      assert.ok(requested > CAP && requested <= CAP + FRAMING + 65_536, `stopped at ${requested}`);
      assert.ok(result.sent < 64 * 1024 * 1024, 'the answer came while the client was still sending');
    });

    it('a refused but bounded body is drained: the same connection serves the next request', async () => {
      const ca = await makeCa();
      const file = nhnFile(await makeLeaf(ca, { cn: 'www.example.com' }), ca);
      const twoFiles = multipart([
        { name: 'file', filename: 'a.pem', content: file },
        { name: 'file', filename: 'b.pem', content: file },
      ]);
      const first = Buffer.concat([
        head(path, { ...keys, 'content-type': MULTIPART_TYPE, 'content-length': String(twoFiles.length) }),
        twoFiles,
      ]);
      const good = multipart([{ name: 'file', filename: 'a.pem', content: file }]);
      const second = Buffer.concat([
        head(path, { ...keys, 'content-type': MULTIPART_TYPE, 'content-length': String(good.length) }),
        good,
      ]);
      const { text } = await exchange(
        app,
        [first, second],
        (t) => (t.match(/HTTP\/1\.1 /g) ?? []).length === 2 && t.trimEnd().endsWith('}') && t.includes('"body":null'),
      );
      const responses = text.split(/(?=HTTP\/1\.1 )/);
      assert.equal(responses.length, 2);
      assert.match(responses[0] ?? '', /^HTTP\/1\.1 400 /);
      assert.match(responses[0] ?? '', /"resultCode":52002/);
      assert.doesNotMatch(responses[0] ?? '', /connection: close/i);
      assert.match(responses[1] ?? '', /^HTTP\/1\.1 200 /);
    });
  });
}
