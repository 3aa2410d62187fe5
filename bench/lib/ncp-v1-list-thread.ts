/**
 * The load of bench/issuance-list-writes.ts, on a worker thread so that its CPU is not the
 * server's: `connections` keep-alive loops of signed NCP v1 list GETs, each with a certificate
 * name drawn from `names`, until the thread is terminated.
 */
import { createHmac } from 'node:crypto';
import { Agent, request } from 'node:http';
import { workerData } from 'node:worker_threads';

const { url, accessKey, secretKey, names, connections } = workerData as {
  url: string;
  accessKey: string;
  secretKey: string;
  names: string[];
  connections: number;
};
const agent = new Agent({ keepAlive: true, maxSockets: connections });
const target = new URL(url);
const one = (): Promise<void> =>
  new Promise((resolve, reject) => {
    const path = `/api/v1/certificates?certificateName=${names[Math.floor(Math.random() * names.length)]}`;
    const timestamp = String(Date.now());
    const signature = createHmac('sha256', Buffer.from(secretKey, 'utf8'))
      .update(`GET ${path}\n${timestamp}\n${accessKey}`)
      .digest('base64');
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path,
        headers: {
          accept: 'application/json',
          'x-ncp-apigw-timestamp': timestamp,
          'x-ncp-iam-access-key': accessKey,
          'x-ncp-apigw-signature-v2': signature,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(String(res.statusCode)))));
      },
    );
    req.on('error', reject);
    req.end();
  });
await Promise.all(
  Array.from({ length: connections }, async () => {
    for (;;) await one();
  }),
);
