import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  NCP_AUTH_DETAILS,
  NCP_AUTH_FAILURES,
  NCP_MAX_URI_LENGTH,
  NCP_TIMESTAMP_TOLERANCE_MS,
  ncpSignature,
  ncpSignedUriCandidates,
  readNcpAuthHeaders,
  verifyNcpRequest,
  type NcpAuthFailure,
  type NcpRequestHeaders,
  type NcpVerifyResult,
} from '../../src/auth/ncp-signature.ts';
import {
  NCP_CLIENT_VARIANTS,
  ncpFetch,
  signedHeaders,
  signedUri,
  wireUrl,
  type NcpQuery,
} from '../helpers/ncp-client.ts';

const ACCESS = 'testAccessKey';
const SECRET = 'testSecretKey';
const TS = '1700000000000';
const NOW = new Date(1_700_000_000_000);

// Reference cloud-apis.md §3.1.
const VECTOR_1 = {
  uri: '/api/v1/certificates?certificateNo=65655',
  signature: '6fbexcf8eWkGQR2HFvhXKkIgrPzNcmWtclqs62KMt0U=',
};
const VECTOR_2 = {
  uri: '/api/v2/certificate/getCertificates',
  signature: 'S86Rf+0au4RIpNEZljlWocVLMteJFMhESznyFF3VZuE=',
};
const VECTOR_3 = {
  uri: '/api/v1/certificate/provisioning?pageNo=1&offset=15',
  signature: 'kSa830CZq2zL5k2NIwzOYeFn4CPNAsbrXKIb32Dkbdk=',
};

function lookup(calls: string[] = []): (accessKey: string) => Promise<string | null> {
  return async (accessKey) => {
    calls.push(accessKey);
    return accessKey === ACCESS ? SECRET : null;
  };
}

function v2Headers(signature: string, timestamp = TS, accessKey = ACCESS): Record<string, string> {
  return {
    'x-ncp-apigw-timestamp': timestamp,
    'x-ncp-iam-access-key': accessKey,
    'x-ncp-apigw-signature-v2': signature,
  };
}

async function verify(
  rawUrl: string,
  headers: NcpRequestHeaders,
  options: { method?: string; now?: Date; calls?: string[] } = {},
): Promise<NcpVerifyResult> {
  return verifyNcpRequest({
    method: options.method ?? 'GET',
    rawUrl,
    headers,
    now: options.now ?? NOW,
    lookupSecret: lookup(options.calls),
  });
}

/** A request signed the Java way (raw target) at `timestamp` with `secret`. */
function signed(method: string, uri: string, timestamp = TS, secret = SECRET): Record<string, string> {
  return v2Headers(ncpSignature({ method, uri, timestamp, accessKey: ACCESS, secretKey: secret }), timestamp);
}

const fail = (failure: NcpAuthFailure): NcpVerifyResult => ({ ok: false, failure });
const OK: NcpVerifyResult = { ok: true, accessKey: ACCESS };

// A space, Korean text, `&` and `=` inside values, a literal `+` and `%`, and characters the
// encoders disagree about (`'()*!~`).
const HARD_QUERY: NcpQuery = [
  ['certificateName', 'my cert 한글'],
  ['filter', 'a=b&c=d'],
  ['plus', '1+1'],
  ['note', "it's (100%)*!~"],
];
const HARD_PATH = '/api/v2/certificate/getCertificates';
const HARD_UNENCODED = `${HARD_PATH}?certificateName=my cert 한글&filter=a=b&c=d&plus=1+1&note=it's (100%)*!~`;

describe('ncpSignature', () => {
  it('reproduces the three reference vectors', () => {
    for (const v of [VECTOR_1, VECTOR_2, VECTOR_3]) {
      assert.equal(
        ncpSignature({ method: 'GET', uri: v.uri, timestamp: TS, accessKey: ACCESS, secretKey: SECRET }),
        v.signature,
        v.uri,
      );
    }
  });

  it('upper-cases the method', () => {
    assert.equal(
      ncpSignature({ method: 'get', uri: VECTOR_1.uri, timestamp: TS, accessKey: ACCESS, secretKey: SECRET }),
      VECTOR_1.signature,
    );
  });

  it('signs every part of the message', () => {
    const base = { method: 'GET', uri: VECTOR_1.uri, timestamp: TS, accessKey: ACCESS, secretKey: SECRET };
    const variants = [
      base,
      { ...base, method: 'POST' },
      { ...base, uri: '/api/v1/certificates?certificateNo=65656' },
      { ...base, timestamp: '1700000000001' },
      { ...base, accessKey: 'testAccessKeyX' },
      { ...base, secretKey: 'testSecretKeyX' },
    ];
    assert.equal(new Set(variants.map(ncpSignature)).size, variants.length);
  });
});

describe('NCP_AUTH_DETAILS', () => {
  it('has one distinct text per failure, the gateway texts where known', () => {
    assert.deepEqual(Object.keys(NCP_AUTH_DETAILS).sort(), [...NCP_AUTH_FAILURES].sort());
    assert.deepEqual(NCP_AUTH_DETAILS, {
      missing_headers: 'Authentication information are missing.',
      malformed_timestamp: 'The timestamp must be the time in milliseconds since 1970-01-01 00:00:00 UTC, in digits.',
      stale_timestamp: 'The timestamp is more than 5 minutes from the server time.',
      unknown_access_key: 'Invalid authentication information.',
      bad_signature: 'The signature does not match the request.',
    });
    assert.equal(new Set(Object.values(NCP_AUTH_DETAILS)).size, 5);
  });
});

describe('readNcpAuthHeaders', () => {
  const full = v2Headers(VECTOR_1.signature);

  it('reads the three headers', () => {
    assert.deepEqual(readNcpAuthHeaders(full), {
      ok: true,
      timestamp: TS,
      accessKey: ACCESS,
      signature: VECTOR_1.signature,
    });
  });

  it('matches header names case-insensitively', () => {
    const headers = {
      'X-NCP-APIGW-TIMESTAMP': TS,
      'X-Ncp-Iam-Access-Key': ACCESS,
      'X-Ncp-Apigw-Signature-V2': VECTOR_1.signature,
    };
    assert.deepEqual(readNcpAuthHeaders(headers), {
      ok: true,
      timestamp: TS,
      accessKey: ACCESS,
      signature: VECTOR_1.signature,
    });
  });

  it('accepts the -v1 alias', () => {
    const headers = {
      'x-ncp-apigw-timestamp': TS,
      'x-ncp-iam-access-key': ACCESS,
      'x-ncp-apigw-signature-v1': VECTOR_2.signature,
    };
    assert.deepEqual(readNcpAuthHeaders(headers), {
      ok: true,
      timestamp: TS,
      accessKey: ACCESS,
      signature: VECTOR_2.signature,
    });
  });

  it('prefers -v2 when both are present', () => {
    const headers = { ...full, 'x-ncp-apigw-signature-v1': VECTOR_2.signature };
    assert.deepEqual(readNcpAuthHeaders(headers), {
      ok: true,
      timestamp: TS,
      accessKey: ACCESS,
      signature: VECTOR_1.signature,
    });
  });

  it('does not fall back to -v1 when -v2 is present but unusable', () => {
    assert.deepEqual(
      readNcpAuthHeaders({ ...full, 'x-ncp-apigw-signature-v2': '', 'x-ncp-apigw-signature-v1': VECTOR_1.signature }),
      { ok: false, failure: 'missing_headers' },
    );
  });

  it('ignores x-ncp-apigw-api-key, even repeated', () => {
    assert.deepEqual(readNcpAuthHeaders({ ...full, 'x-ncp-apigw-api-key': ['a', 'b'] }), {
      ok: true,
      timestamp: TS,
      accessKey: ACCESS,
      signature: VECTOR_1.signature,
    });
  });

  it('ignores undefined values and takes a one-element array (req.headersDistinct)', () => {
    const headers = {
      'x-ncp-apigw-timestamp': [TS],
      'x-ncp-iam-access-key': [ACCESS],
      'x-ncp-apigw-signature-v2': [VECTOR_1.signature],
      'x-ncp-apigw-signature-v1': undefined,
    };
    assert.deepEqual(readNcpAuthHeaders(headers), {
      ok: true,
      timestamp: TS,
      accessKey: ACCESS,
      signature: VECTOR_1.signature,
    });
  });

  for (const name of ['x-ncp-apigw-timestamp', 'x-ncp-iam-access-key', 'x-ncp-apigw-signature-v2']) {
    it(`fails with missing_headers without ${name}`, () => {
      const headers: Record<string, string> = { ...full };
      delete headers[name];
      assert.deepEqual(readNcpAuthHeaders(headers), { ok: false, failure: 'missing_headers' });
    });

    it(`fails with missing_headers when ${name} is repeated, empty or over-long`, () => {
      const value = full[name] ?? '';
      for (const bad of [[value, value], [value, 'other'], [], `${value}, ${value}`, '', 'x'.repeat(129)]) {
        assert.deepEqual(
          readNcpAuthHeaders({ ...full, [name]: bad }),
          { ok: false, failure: 'missing_headers' },
          JSON.stringify(bad),
        );
      }
      assert.deepEqual(
        readNcpAuthHeaders({ ...full, [name.toUpperCase()]: value }),
        { ok: false, failure: 'missing_headers' },
        'two keys differing in case',
      );
    });
  }

  it('accepts a value of exactly 128 characters', () => {
    const key = 'K'.repeat(128);
    assert.deepEqual(readNcpAuthHeaders({ ...full, 'x-ncp-iam-access-key': key }), {
      ok: true,
      timestamp: TS,
      accessKey: key,
      signature: VECTOR_1.signature,
    });
  });
});

describe('ncpSignedUriCandidates', () => {
  it('has only the raw target when there is no query or nothing to decode', () => {
    assert.deepEqual(ncpSignedUriCandidates('/api/v2/certificate/getCertificates'), [
      '/api/v2/certificate/getCertificates',
    ]);
    assert.deepEqual(ncpSignedUriCandidates(VECTOR_3.uri), [VECTOR_3.uri]);
  });

  it('adds the decoded query, then the query with + as space, de-duplicated', () => {
    assert.deepEqual(ncpSignedUriCandidates('/p?q=a+b%20c%26d%3De'), [
      '/p?q=a+b%20c%26d%3De',
      '/p?q=a+b c&d=e',
      '/p?q=a b c&d=e',
    ]);
    assert.deepEqual(ncpSignedUriCandidates('/p?q=a%20b'), ['/p?q=a%20b', '/p?q=a b']);
    assert.deepEqual(ncpSignedUriCandidates('/p?q=a+b'), ['/p?q=a+b', '/p?q=a b']);
  });

  it('never decodes the path', () => {
    assert.deepEqual(ncpSignedUriCandidates('/a%20b?x=%41'), ['/a%20b?x=%41', '/a%20b?x=A']);
  });

  it('skips a candidate whose percent-encoding is malformed instead of throwing', () => {
    assert.deepEqual(ncpSignedUriCandidates('/p?q=%zz'), ['/p?q=%zz']);
    assert.deepEqual(ncpSignedUriCandidates('/p?q=%E0%A4%A&r=+'), ['/p?q=%E0%A4%A&r=+']);
    assert.deepEqual(ncpSignedUriCandidates('/p?q=%ED%A0%80'), ['/p?q=%ED%A0%80'], 'an encoded lone surrogate');
  });
});

describe('the test client variants', () => {
  it('encode the same query differently on the wire', () => {
    assert.deepEqual(Object.fromEntries(NCP_CLIENT_VARIANTS.map((v) => [v, wireUrl(HARD_PATH, HARD_QUERY, v)])), {
      'java-raw': `${HARD_PATH}?certificateName=my%20cert%20%ED%95%9C%EA%B8%80&filter=a%3Db%26c%3Dd&plus=1%2B1&note=it%27s%20%28100%25%29%2A%21~`,
      'js-decoded': `${HARD_PATH}?certificateName=my%20cert%20%ED%95%9C%EA%B8%80&filter=a%3Db%26c%3Dd&plus=1%2B1&note=it's%20(100%25)*!~`,
      urlsearchparams: `${HARD_PATH}?certificateName=my+cert+%ED%95%9C%EA%B8%80&filter=a%3Db%26c%3Dd&plus=1%2B1&note=it%27s+%28100%25%29*%21%7E`,
      'v1-header': `${HARD_PATH}?certificateName=my%20cert%20%ED%95%9C%EA%B8%80&filter=a%3Db%26c%3Dd&plus=1%2B1&note=it%27s%20%28100%25%29%2A%21~`,
    });
  });

  it('sign the raw target (java-raw) or the unencoded query (the others)', () => {
    for (const v of NCP_CLIENT_VARIANTS) {
      const wire = wireUrl(HARD_PATH, HARD_QUERY, v);
      assert.equal(signedUri(wire, v), v === 'java-raw' ? wire : HARD_UNENCODED, v);
    }
  });

  it('send -v1 only for v1-header', () => {
    for (const v of NCP_CLIENT_VARIANTS) {
      const headers = signedHeaders({
        method: 'GET',
        url: VECTOR_1.uri,
        accessKey: ACCESS,
        secretKey: SECRET,
        timestamp: TS,
        variant: v,
      });
      const name = v === 'v1-header' ? 'x-ncp-apigw-signature-v1' : 'x-ncp-apigw-signature-v2';
      assert.deepEqual(
        headers,
        { 'x-ncp-apigw-timestamp': TS, 'x-ncp-iam-access-key': ACCESS, [name]: VECTOR_1.signature },
        v,
      );
    }
  });
});

describe('verifyNcpRequest', () => {
  it('accepts the reference vectors', async () => {
    for (const v of [VECTOR_1, VECTOR_2, VECTOR_3])
      assert.deepEqual(await verify(v.uri, v2Headers(v.signature)), OK, v.uri);
  });

  for (const variant of NCP_CLIENT_VARIANTS) {
    it(`accepts the ${variant} client on a query with a space, Korean text and & = inside values`, async () => {
      const url = wireUrl(HARD_PATH, HARD_QUERY, variant);
      const headers = signedHeaders({
        method: 'GET',
        url,
        accessKey: ACCESS,
        secretKey: SECRET,
        timestamp: TS,
        variant,
      });
      assert.deepEqual(await verify(url, headers), OK);
      assert.deepEqual(await verify(url, headers, { method: 'POST' }), fail('bad_signature'));
    });
  }

  it('accepts a client that sends URLSearchParams and signs exactly what it sends (sjk4425)', async () => {
    const url = wireUrl(HARD_PATH, HARD_QUERY, 'urlsearchparams');
    assert.deepEqual(
      await verify(
        url,
        signedHeaders({ method: 'GET', url, accessKey: ACCESS, secretKey: SECRET, timestamp: TS, variant: 'java-raw' }),
      ),
      OK,
    );
  });

  it('accepts a client that signs an unencoded string and lets the URL parser encode it (a literal + stays +)', async () => {
    const unencoded = '/p?expr=1+1 한';
    const parsed = new URL(unencoded, 'http://h');
    const wire = parsed.pathname + parsed.search;
    assert.equal(wire, '/p?expr=1+1%20%ED%95%9C');
    assert.deepEqual(ncpSignedUriCandidates(wire), [wire, unencoded, '/p?expr=1 1 한']);
    assert.deepEqual(await verify(wire, signed('GET', unencoded)), OK);
  });

  it('accepts the -v1 alias and prefers -v2 when both are sent', async () => {
    const v1 = {
      'x-ncp-apigw-timestamp': TS,
      'x-ncp-iam-access-key': ACCESS,
      'x-ncp-apigw-signature-v1': VECTOR_1.signature,
    };
    assert.deepEqual(await verify(VECTOR_1.uri, v1), OK);
    assert.deepEqual(
      await verify(VECTOR_1.uri, { ...v1, 'x-ncp-apigw-signature-v2': VECTOR_2.signature }),
      fail('bad_signature'),
    );
    assert.deepEqual(
      await verify(VECTOR_1.uri, { ...v2Headers(VECTOR_1.signature), 'x-ncp-apigw-signature-v1': VECTOR_2.signature }),
      OK,
    );
  });

  it('ignores x-ncp-apigw-api-key', async () => {
    assert.deepEqual(
      await verify(VECTOR_1.uri, { ...v2Headers(VECTOR_1.signature), 'x-ncp-apigw-api-key': 'anything' }),
      OK,
    );
  });

  it('rejects a wrong secret, a tampered path, a tampered query and a changed method with bad_signature', async () => {
    assert.deepEqual(
      await verify(VECTOR_1.uri, signed('GET', VECTOR_1.uri, TS, 'wrongSecretKey')),
      fail('bad_signature'),
    );
    assert.deepEqual(
      await verify('/api/v2/certificates?certificateNo=65655', v2Headers(VECTOR_1.signature)),
      fail('bad_signature'),
    );
    assert.deepEqual(
      await verify('/api/v1/certificates?certificateNo=65656', v2Headers(VECTOR_1.signature)),
      fail('bad_signature'),
    );
    assert.deepEqual(await verify('/api/v1/certificates', v2Headers(VECTOR_1.signature)), fail('bad_signature'));
    assert.deepEqual(await verify(`${VECTOR_1.uri}&x=1`, v2Headers(VECTOR_1.signature)), fail('bad_signature'));
    assert.deepEqual(
      await verify(VECTOR_1.uri, v2Headers(VECTOR_1.signature), { method: 'DELETE' }),
      fail('bad_signature'),
    );
  });

  it('does not read a decoded query back into separate parameters (no & smuggling)', async () => {
    // Signed for one parameter whose value holds `&x=1`; the same text sent raw is two parameters.
    const url = wireUrl('/p', [['q', 'a&x=1']], 'js-decoded');
    const headers = signedHeaders({
      method: 'GET',
      url,
      accessKey: ACCESS,
      secretKey: SECRET,
      timestamp: TS,
      variant: 'java-raw',
    });
    assert.equal(url, '/p?q=a%26x%3D1');
    assert.deepEqual(await verify('/p?q=a&x=1', headers), fail('bad_signature'));
  });

  it('accepts a skew of exactly 5 minutes either way and rejects 5 minutes + 1 ms with stale_timestamp', async () => {
    const at = (offset: number): string => String(NOW.getTime() + offset);
    for (const offset of [-NCP_TIMESTAMP_TOLERANCE_MS, NCP_TIMESTAMP_TOLERANCE_MS, 0]) {
      assert.deepEqual(await verify(VECTOR_1.uri, signed('GET', VECTOR_1.uri, at(offset))), OK, String(offset));
    }
    assert.equal(NCP_TIMESTAMP_TOLERANCE_MS, 300_000);
    assert.deepEqual(
      await verify(VECTOR_1.uri, signed('GET', VECTOR_1.uri, at(-300_001))),
      fail('stale_timestamp'),
      'old',
    );
    assert.deepEqual(
      await verify(VECTOR_1.uri, signed('GET', VECTOR_1.uri, at(300_001))),
      fail('stale_timestamp'),
      'future',
    );
    assert.deepEqual(
      await verify(VECTOR_1.uri, signed('GET', VECTOR_1.uri, '0')),
      fail('stale_timestamp'),
      'the epoch',
    );
    // The reference vector itself, checked against a clock an hour later.
    assert.deepEqual(
      await verify(VECTOR_1.uri, v2Headers(VECTOR_1.signature), { now: new Date(NOW.getTime() + 3_600_000) }),
      fail('stale_timestamp'),
    );
  });

  it('rejects a timestamp that is not milliseconds in digits with malformed_timestamp', async () => {
    for (const ts of [
      'abc',
      '1700000000000.0',
      '-1700000000000',
      '+1700000000000',
      '1.7e12',
      '0x18BCFE56800',
      ' 1700000000000',
      '１７００００００００００００',
      '1234567890123456',
    ]) {
      assert.deepEqual(
        await verify(VECTOR_1.uri, signed('GET', VECTOR_1.uri, ts)),
        fail('malformed_timestamp'),
        JSON.stringify(ts),
      );
    }
    assert.deepEqual(
      await verify(VECTOR_1.uri, v2Headers(VECTOR_1.signature, '2023-11-14T22:13:20Z')),
      fail('malformed_timestamp'),
    );
  });

  for (const name of ['x-ncp-apigw-timestamp', 'x-ncp-iam-access-key', 'x-ncp-apigw-signature-v2']) {
    it(`rejects a request without ${name} with missing_headers`, async () => {
      const headers: Record<string, string> = v2Headers(VECTOR_1.signature);
      delete headers[name];
      assert.deepEqual(await verify(VECTOR_1.uri, headers), fail('missing_headers'));
    });

    it(`rejects a repeated ${name} with missing_headers (array or Node's comma join)`, async () => {
      const headers = v2Headers(VECTOR_1.signature);
      const value = headers[name] ?? '';
      assert.deepEqual(await verify(VECTOR_1.uri, { ...headers, [name]: [value, value] }), fail('missing_headers'));
      assert.deepEqual(
        await verify(VECTOR_1.uri, { ...headers, [name]: `${value}, ${value}` }),
        fail('missing_headers'),
      );
    });
  }

  it('rejects a request with no auth headers at all with missing_headers', async () => {
    assert.deepEqual(await verify(VECTOR_1.uri, {}), fail('missing_headers'));
  });

  it('rejects an unknown (or revoked) key with unknown_access_key after asking the lookup once', async () => {
    const calls: string[] = [];
    const headers = v2Headers(
      ncpSignature({ method: 'GET', uri: VECTOR_1.uri, timestamp: TS, accessKey: 'revokedKey', secretKey: SECRET }),
      TS,
      'revokedKey',
    );
    assert.deepEqual(await verify(VECTOR_1.uri, headers, { calls }), fail('unknown_access_key'));
    assert.deepEqual(calls, ['revokedKey']);
  });

  it('rejects a signature of the wrong length or not in standard base64 with bad_signature', async () => {
    const bad = [
      VECTOR_1.signature.slice(0, 43), // 43 characters
      `${VECTOR_1.signature}A`, // 45
      VECTOR_1.signature.replace('=', ''), // unpadded
      VECTOR_1.signature + VECTOR_1.signature, // 88: two signatures
      'A'.repeat(44), // 44 characters but 33 bytes
      '!'.repeat(43) + '=', // not base64
      `${VECTOR_1.signature.slice(0, 20)}*${VECTOR_1.signature.slice(21)}`, // one junk character
      VECTOR_1.signature.replace('U=', 'V='), // non-zero padding bits: same bytes in a lenient decoder
      Buffer.from(VECTOR_1.signature, 'base64').toString('hex').slice(0, 44), // hex
    ];
    for (const signature of bad)
      assert.deepEqual(await verify(VECTOR_1.uri, v2Headers(signature)), fail('bad_signature'), signature);
    // base64url of a correct signature
    assert.deepEqual(
      await verify(VECTOR_2.uri, v2Headers(VECTOR_2.signature.replace('+', '-'))),
      fail('bad_signature'),
    );
    assert.deepEqual(await verify(VECTOR_2.uri, v2Headers(VECTOR_2.signature)), OK);
  });

  it('rejects a request target over 8 KiB with bad_signature even when correctly signed', async () => {
    assert.equal(NCP_MAX_URI_LENGTH, 8192);
    const atLimit = `/p?q=${'a'.repeat(8192 - 5)}`;
    assert.equal(atLimit.length, 8192);
    assert.deepEqual(await verify(atLimit, signed('GET', atLimit)), OK);
    const over = `${atLimit}b`;
    assert.deepEqual(await verify(over, signed('GET', over)), fail('bad_signature'));
    const huge = `/p?q=${'%41'.repeat(1_000_000)}`;
    assert.deepEqual(await verify(huge, signed('GET', huge)), fail('bad_signature'));
  });

  it('verifies a query with malformed percent-encoding against the raw target without throwing', async () => {
    const uri = '/p?q=%zz&r=%E0%A4%A';
    assert.deepEqual(await verify(uri, signed('GET', uri)), OK);
    assert.deepEqual(await verify(uri, signed('GET', '/p?q=zz&r=')), fail('bad_signature'));
  });

  it('checks in order: headers, timestamp format, skew, key, signature', async () => {
    const calls: string[] = [];
    const stale = String(NOW.getTime() - 600_000);
    // missing header beats a malformed timestamp
    assert.deepEqual(
      await verify(VECTOR_1.uri, { 'x-ncp-apigw-timestamp': 'abc', 'x-ncp-iam-access-key': 'nobody' }, { calls }),
      fail('missing_headers'),
    );
    // malformed timestamp beats an unknown key
    assert.deepEqual(
      await verify(VECTOR_1.uri, v2Headers('junk', 'abc', 'nobody'), { calls }),
      fail('malformed_timestamp'),
    );
    // stale timestamp beats an unknown key, and the lookup is not asked
    assert.deepEqual(
      await verify(VECTOR_1.uri, v2Headers('junk', stale, 'nobody'), { calls }),
      fail('stale_timestamp'),
    );
    assert.deepEqual(calls, []);
    // unknown key beats a bad signature
    assert.deepEqual(
      await verify(VECTOR_1.uri, v2Headers('junk', TS, 'nobody'), { calls }),
      fail('unknown_access_key'),
    );
    assert.deepEqual(calls, ['nobody']);
  });

  it('lets a failing lookup reject (a store outage is not an authentication failure)', async () => {
    const boom = new Error('store down');
    await assert.rejects(
      verifyNcpRequest({
        method: 'GET',
        rawUrl: VECTOR_1.uri,
        headers: v2Headers(VECTOR_1.signature),
        now: NOW,
        lookupSecret: async () => Promise.reject(boom),
      }),
      (error) => error === boom,
    );
  });

  it('gives each kind of failure its own code', async () => {
    const cases: Array<[string, Promise<NcpVerifyResult>]> = [
      ['missing header', verify(VECTOR_1.uri, { 'x-ncp-apigw-timestamp': TS, 'x-ncp-iam-access-key': ACCESS })],
      ['malformed timestamp', verify(VECTOR_1.uri, signed('GET', VECTOR_1.uri, 'soon'))],
      ['stale timestamp', verify(VECTOR_1.uri, signed('GET', VECTOR_1.uri, String(NOW.getTime() - 300_001)))],
      ['unknown key', verify(VECTOR_1.uri, v2Headers(VECTOR_1.signature, TS, 'nobody'))],
      ['bad signature', verify(VECTOR_1.uri, signed('GET', VECTOR_1.uri, TS, 'wrong'))],
    ];
    const results = await Promise.all(cases.map(([, p]) => p));
    assert.deepEqual(
      results.map((r) => (r.ok ? 'ok' : r.failure)),
      ['missing_headers', 'malformed_timestamp', 'stale_timestamp', 'unknown_access_key', 'bad_signature'],
    );
  });
});

describe('over the wire: node:http server + ncpFetch', () => {
  let server: http.Server;
  let baseUrl = '';

  before(async () => {
    server = http.createServer((req, res) => {
      void verifyNcpRequest({
        method: req.method ?? '',
        rawUrl: req.url ?? '',
        headers: req.headers,
        now: new Date(),
        lookupSecret: lookup(),
      }).then((result) => {
        const body = result.ok
          ? { accessKey: result.accessKey, url: req.url }
          : {
              error: { errorCode: '200', message: 'Authentication Failed', details: NCP_AUTH_DETAILS[result.failure] },
            };
        res.writeHead(result.ok ? 200 : 401, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const credentials = { accessKey: ACCESS, secretKey: SECRET };

  for (const variant of NCP_CLIENT_VARIANTS) {
    it(`${variant}: a real request with a hard query is accepted`, async () => {
      const response = await ncpFetch(baseUrl, {
        method: 'GET',
        path: HARD_PATH,
        query: HARD_QUERY,
        credentials,
        variant,
      });
      assert.equal(response.status, 200);
      // fetch's URL parser encodes `'` in a query, so that is the one difference from wireUrl.
      assert.deepEqual(response.json, {
        accessKey: ACCESS,
        url: wireUrl(HARD_PATH, HARD_QUERY, variant).replaceAll("'", '%27'),
      });
    });
  }

  it('a POST with a JSON body is accepted (the body is not signed)', async () => {
    const response = await ncpFetch(baseUrl, {
      method: 'POST',
      path: '/api/v2/certificate/withExternal',
      body: { certificateName: 'x' },
      credentials,
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.deepEqual(response.json, { accessKey: ACCESS, url: '/api/v2/certificate/withExternal' });
  });

  it('a stale clock is refused with the stale details', async () => {
    const response = await ncpFetch(baseUrl, {
      method: 'GET',
      path: VECTOR_2.uri,
      credentials,
      timestampOffsetMs: -310_000,
    });
    assert.equal(response.status, 401);
    assert.deepEqual(response.json, {
      error: {
        errorCode: '200',
        message: 'Authentication Failed',
        details: 'The timestamp is more than 5 minutes from the server time.',
      },
    });
  });

  it('a wrong secret is refused with the signature details', async () => {
    const response = await ncpFetch(baseUrl, {
      method: 'GET',
      path: VECTOR_2.uri,
      credentials: { accessKey: ACCESS, secretKey: 'wrong' },
    });
    assert.equal(response.status, 401);
    assert.deepEqual(response.json, {
      error: {
        errorCode: '200',
        message: 'Authentication Failed',
        details: 'The signature does not match the request.',
      },
    });
  });

  it('a header sent twice (Node joins it with ", ") is refused with missing_headers', async () => {
    const headers = signedHeaders({
      method: 'GET',
      url: VECTOR_2.uri,
      accessKey: ACCESS,
      secretKey: SECRET,
      variant: 'java-raw',
    });
    const timestamp = headers['x-ncp-apigw-timestamp'] ?? '';
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        `${baseUrl}${VECTOR_2.uri}`,
        { headers: { ...headers, 'x-ncp-apigw-timestamp': [timestamp, timestamp] } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 401);
    assert.deepEqual(JSON.parse(body), {
      error: { errorCode: '200', message: 'Authentication Failed', details: 'Authentication information are missing.' },
    });
  });
});
