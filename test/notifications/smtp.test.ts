/**
 * E-mail through a real SMTP server (the `smtp-server` package, in this process): STARTTLS with a
 * certificate from the in-test PKI, verified against the host name, and AUTH PLAIN/LOGIN (which
 * the server only offers after STARTTLS). Checks the message as received: envelope, subject, a
 * plain-text and an HTML part with the console link; then a wrong password and a server without
 * STARTTLS are failures in the delivery log, never a message sent in clear.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { mintLeaf, mintRoot, type Issued } from '../helpers/pki.ts';
import { storeTargets } from '../helpers/db.ts';
import { BASE, DAY, notifyWorld, START, type NotifyWorld } from './setup.ts';

interface Mail {
  from: string;
  to: string[];
  raw: string;
  secure: boolean;
  user: string | undefined;
}

function smtp(pki: { leaf: Issued }, options: { starttls: boolean }) {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    key: pki.leaf.keyPem,
    cert: pki.leaf.pem,
    hideSTARTTLS: !options.starttls,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, callback) {
      if (auth.username === 'notifier' && auth.password === 's3cret pass') return callback(null, { user: 'notifier' });
      const error = Object.assign(new Error('Invalid username or password'), { responseCode: 535 });
      callback(error);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          secure: session.secure,
          user: session.user as string | undefined,
        });
        callback();
      });
    },
    logger: false,
  });
  return { server, mails };
}

/** Quoted-printable soft breaks and escapes undone (enough for ASCII text). */
const unqp = (text: string): string =>
  text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

for (const target of storeTargets) {
  describe(`e-mail notifications over SMTP (${target.name})`, { skip: target.skip }, () => {
    let world: NotifyWorld;
    let root: Issued;
    let leaf: Issued;
    let good: ReturnType<typeof smtp>;
    let plain: ReturnType<typeof smtp>;
    let port = 0;
    let plainPort = 0;

    before(async () => {
      root = await mintRoot({ cn: 'certkeeper SMTP test root' });
      leaf = await mintLeaf(root, { cn: 'localhost', sans: { dns: ['localhost'], ip: ['127.0.0.1', '::1'] } });
      good = smtp({ leaf }, { starttls: true });
      plain = smtp({ leaf }, { starttls: false });
      good.server.listen(0, 'localhost');
      plain.server.listen(0, 'localhost');
      await Promise.all([once(good.server.server, 'listening'), once(plain.server.server, 'listening')]);
      port = (good.server.server.address() as AddressInfo).port;
      plainPort = (plain.server.server.address() as AddressInfo).port;
      world = await notifyWorld(target, { ca: [root.pem] });
    });
    after(async () => {
      await world.close();
      await new Promise<void>((resolve) => good.server.close(() => resolve()));
      await new Promise<void>((resolve) => plain.server.close(() => resolve()));
    });

    it('sends the expiry notice with STARTTLS and AUTH, as text and HTML', async () => {
      const n = world.core.notifications;
      const added = await n.addChannel(world.admin, {
        kind: 'email',
        name: 'ops-mail',
        host: 'localhost',
        port,
        security: 'starttls',
        username: 'notifier',
        password: 's3cret pass',
        from: 'certkeeper@example.com',
        to: 'ops@example.com, oncall@example.com',
      });
      assert.equal(added.secret, null);
      assert.equal(JSON.stringify(added.channel).includes('s3cret'), false, 'the password is never shown');
      await n.addRule(world.admin, { name: 'mail-expiry', events: ['certificate.expiring'], channels: ['ops-mail'] });
      const t = START.getTime();
      const no = await world.certificate(t - 60 * DAY, t + 5 * DAY, 'mail-cert', ['mail.example.org']);
      const pass = await world.worker().runOnce();
      assert.equal(pass.sent, 1, JSON.stringify(await n.log(world.admin)));
      assert.equal(good.mails.length, 1);
      const mail = good.mails[0]!;
      assert.equal(mail.secure, true, 'upgraded with STARTTLS before the message');
      assert.equal(mail.user, 'notifier');
      assert.equal(mail.from, 'certkeeper@example.com');
      assert.deepEqual(mail.to, ['ops@example.com', 'oncall@example.com']);
      const raw = unqp(mail.raw);
      assert.match(raw, /^Subject: \[certkeeper\] Certificate mail-cert \(\d+\) expires in 5 days/m);
      assert.match(raw, /Content-Type: multipart\/alternative/);
      assert.match(raw, /Content-Type: text\/plain/);
      assert.match(raw, /Content-Type: text\/html/);
      assert.match(raw, /X-Certkeeper-Event: certificate\.expiring/);
      assert.ok(raw.includes(`Console: ${BASE}/console/#/certificates/${no}`), 'link in the text part');
      assert.ok(raw.includes(`<a href="${BASE}/console/#/certificates/${no}">`), 'link in the HTML part');
      assert.ok(raw.includes('Domains: mail.example.org'));
      const [line] = await n.log(world.admin, { limit: 1 });
      assert.equal(line!.outcome, 'sent');
      assert.equal(line!.statusCode, 250);
    });

    it('logs a refused login as a failure, with the SMTP code', async () => {
      const n = world.core.notifications;
      await n.addChannel(world.admin, {
        kind: 'email',
        name: 'bad-login',
        host: 'localhost',
        port,
        username: 'notifier',
        password: 'wrong',
        from: 'certkeeper@example.com',
        to: 'ops@example.com',
      });
      const before = good.mails.length;
      const result = await n.test(world.admin, 'bad-login');
      assert.equal(result.outcome.kind, 'failed');
      assert.equal(result.outcome.kind === 'failed' && result.outcome.statusCode, 535);
      assert.equal(good.mails.length, before);
    });

    it('refuses to send without STARTTLS when STARTTLS is required', async () => {
      const n = world.core.notifications;
      await n.addChannel(world.admin, {
        kind: 'email',
        name: 'no-tls',
        host: 'localhost',
        port: plainPort,
        from: 'certkeeper@example.com',
        to: 'ops@example.com',
      });
      const result = await n.test(world.admin, 'no-tls');
      assert.equal(result.outcome.kind, 'failed');
      assert.equal(plain.mails.length, 0, 'nothing went in clear');
    });
  });
}
