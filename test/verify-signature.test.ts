import assert from 'node:assert/strict';
import {
  constants,
  createHmac,
  pbkdf2,
  createSecretKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
  type SignKeyObjectInput,
} from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SignJWT } from 'jose';
import { MIN_RSA_BITS } from '../lib/config/algorithms.js';
import { inspectToken } from '../lib/verify/inspect-token.js';
import { verifySignature, verifySignatureOffThread } from '../lib/keys/verify-signature.js';
import { SignatureOffload, THREAD_POOL_STALL_MS } from '../lib/verify/signature-offload.js';

interface Pair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** Signs `header.payload` with node:crypto the way RFC 7518 says `alg` signs. */
function signJws(
  alg: string,
  privateKey: KeyObject,
  payload: Record<string, unknown> = { sub: 'bot' },
): string {
  const input = `${b64json({ alg, typ: 'JWT' })}.${b64json(payload)}`;
  const bits = alg.slice(2);
  const hash = HASH[bits]!;
  let options: SignKeyObjectInput & { dsaEncoding?: 'ieee-p1363'; saltLength?: number; padding?: number } = {
    key: privateKey,
  };
  if (alg.startsWith('PS')) {
    options = { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(bits) / 8 };
  }
  if (alg.startsWith('ES')) options = { key: privateKey, dsaEncoding: 'ieee-p1363' };
  return `${input}.${sign(hash, Buffer.from(input), options).toString('base64url')}`;
}

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

for (const mode of ['on the event loop', 'off the event loop'] as const) {
  describe(`verifySignature ${mode}`, () => {
    /** The request path's signature check, in this mode (`offloadSignatures` false or true). */
    const verifyAs = (alg: string, input: string, signature: Buffer, key: KeyObject): Promise<boolean> =>
      mode === 'on the event loop'
        ? Promise.resolve(verifySignature(alg, input, signature, key))
        : new Promise((resolve) => verifySignatureOffThread(alg, input, signature, key, resolve));

    /** Splits a token and verifies it the way the request path does. */
    function check(token: string, key: KeyObject, alg?: string): Promise<boolean> {
      const { header, signingInput, signature } = inspectToken(token, { maxBytes: 16384 });
      return verifyAs(alg ?? header.alg, signingInput, signature, key);
    }

    let rsa: Pair;
    let rsaOther: Pair;
    let rsa1024: Pair;
    let rsaPss: Pair;
    let ec: Record<string, Pair>;

    before(() => {
      rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      rsaOther = generateKeyPairSync('rsa', { modulusLength: 2048 });
      rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
      rsaPss = generateKeyPairSync('rsa-pss', { modulusLength: 2048, hashAlgorithm: 'sha256' });
      ec = {
        ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
        ES384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
        ES512: generateKeyPairSync('ec', { namedCurve: 'P-521' }),
      };
    });

    function keysFor(alg: string): Pair {
      return alg.startsWith('ES') ? ec[alg]! : rsa;
    }

    for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512']) {
      it(`${alg}: accepts a genuine signature and refuses tampering or another key`, async () => {
        const { publicKey, privateKey } = keysFor(alg);
        const token = signJws(alg, privateKey);
        assert.equal(await check(token, publicKey), true);
        const forged = signJws(alg, privateKey, { sub: 'admin' });
        const [h, p] = forged.split('.');
        const spliced = `${h}.${p}.${token.split('.')[2]}`;
        assert.equal(await check(spliced, publicKey), false);
        const other = alg.startsWith('ES')
          ? generateKeyPairSync('ec', { namedCurve: ecCurve(alg) })
          : rsaOther;
        assert.equal(await check(token, other.publicKey), false);
      });
    }

    it('verifies tokens signed by an independent implementation (jose)', async () => {
      for (const alg of ['RS256', 'PS384', 'ES512']) {
        const { publicKey, privateKey } = keysFor(alg);
        const token = await new SignJWT({ sub: 'ingestion-bot' })
          .setProtectedHeader({ alg, kid: 'k1' })
          .sign(privateKey);
        assert.equal(await check(token, publicKey), true, alg);
      }
    });

    it('never treats a public key as an HMAC secret (alg confusion)', async () => {
      const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
      const input = `${b64json({ alg: 'HS256' })}.${b64json({ sub: 'admin' })}`;
      const mac = createHmac('sha256', pem).update(input).digest();
      assert.equal(await verifyAs('HS256', input, mac, rsa.publicKey), false);
      assert.equal(await verifyAs('HS256', input, mac, createSecretKey(Buffer.from(pem))), false);
      assert.equal(await verifyAs('none', input, Buffer.alloc(0), rsa.publicKey), false);
    });

    it('refuses a key of the wrong type or curve for the algorithm', async () => {
      const rsToken = signJws('RS256', rsa.privateKey);
      const esToken = signJws('ES256', ec.ES256!.privateKey);
      assert.equal(await check(esToken, rsa.publicKey), false); // ES256 with an RSA key
      assert.equal(await check(rsToken, ec.ES256!.publicKey), false); // RS256 with an EC key
      assert.equal(await check(esToken, ec.ES384!.publicKey), false); // ES256 with a P-384 key
      assert.equal(await check(esToken, ec.ES256!.publicKey, 'ES384'), false);
      const ed = generateKeyPairSync('ed25519');
      assert.equal(await check(rsToken, ed.publicKey), false);
    });

    it('does not let a PS signature pass as RS or the reverse', async () => {
      assert.equal(await check(signJws('PS256', rsa.privateKey), rsa.publicKey, 'RS256'), false);
      assert.equal(await check(signJws('RS256', rsa.privateKey), rsa.publicKey, 'PS256'), false);
    });

    it('accepts an RSA-PSS key for PS* only', async () => {
      const token = signJws('PS256', rsaPss.privateKey);
      assert.equal(await check(token, rsaPss.publicKey), true);
      const input = token.slice(0, token.lastIndexOf('.'));
      const pkcs1 = Buffer.from(token.split('.')[2]!, 'base64url');
      assert.equal(await verifyAs('RS256', input, pkcs1, rsaPss.publicKey), false);
      // The key is restricted to SHA-256: PS512 must fail, not throw.
      assert.equal(await check(signJws('PS512', rsa.privateKey), rsaPss.publicKey), false);
    });

    it(`refuses RSA keys under ${MIN_RSA_BITS} bits, even with a genuine signature`, async () => {
      assert.equal(await check(signJws('RS256', rsa1024.privateKey), rsa1024.publicKey), false);
    });

    it('refuses ES signatures of the wrong length or in DER form', async () => {
      const { publicKey, privateKey } = ec.ES256!;
      const token = signJws('ES256', privateKey);
      const input = token.slice(0, token.lastIndexOf('.'));
      const raw = Buffer.from(token.split('.')[2]!, 'base64url');
      assert.equal(await verifyAs('ES256', input, raw, publicKey), true);
      assert.equal(await verifyAs('ES256', input, Buffer.concat([raw, Buffer.alloc(1)]), publicKey), false);
      assert.equal(await verifyAs('ES256', input, raw.subarray(0, 63), publicKey), false);
      const der = sign('sha256', Buffer.from(input), privateKey); // DER is the node default
      assert.equal(await verifyAs('ES256', input, der, publicKey), false);
    });

    it('refuses RSA signatures that are not exactly the modulus length', async () => {
      const token = signJws('RS256', rsa.privateKey);
      const input = token.slice(0, token.lastIndexOf('.'));
      const sig = Buffer.from(token.split('.')[2]!, 'base64url');
      assert.equal(
        await verifyAs('RS256', input, Buffer.concat([Buffer.alloc(1), sig]), rsa.publicKey),
        false,
      );
      assert.equal(await verifyAs('RS256', input, Buffer.alloc(0), rsa.publicKey), false);
    });
  });
}

describe('verifySignatureOffThread', () => {
  it('leaves the event loop free: every answer comes after the caller has returned', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = signJws('RS512', privateKey);
    const input = token.slice(0, token.lastIndexOf('.'));
    const signature = Buffer.from(token.split('.')[2]!, 'base64url');
    const order: string[] = [];
    const answers = Array.from(
      { length: 8 },
      () =>
        new Promise<boolean>((resolve) =>
          verifySignatureOffThread('RS512', input, signature, publicKey, (valid) => {
            order.push('answer');
            resolve(valid);
          }),
        ),
    );
    order.push('returned');
    assert.deepEqual(await Promise.all(answers), Array(8).fill(true));
    assert.equal(order[0], 'returned', 'the caller is never blocked by the arithmetic');
  });

  it('refuses at once, on the event loop, what no key may verify (no thread-pool job)', () => {
    let answer: boolean | undefined;
    verifySignatureOffThread('HS256', 'a.b', Buffer.alloc(32), createSecretKey(Buffer.alloc(32)), (valid) => {
      answer = valid;
    });
    assert.equal(answer, false);
  });
});

describe('SignatureOffload', () => {
  let rsa: Pair;
  let good: { input: string; signature: Buffer };
  let forged: { input: string; signature: Buffer };

  before(() => {
    rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const parts = (token: string) => ({
      input: token.slice(0, token.lastIndexOf('.')),
      signature: Buffer.from(token.split('.')[2]!, 'base64url'),
    });
    good = parts(signJws('RS256', rsa.privateKey));
    const other = parts(signJws('RS256', rsa.privateKey, { sub: 'admin' }));
    forged = { input: other.input, signature: good.signature };
  });

  /** Takes every thread of libuv's pool (as slow DNS lookups or file I/O would) for about a second. */
  function stallThePool(): Promise<void[]> {
    const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    return Promise.all(
      Array.from(
        { length: threads },
        () =>
          new Promise<void>((resolve, reject) =>
            pbkdf2('busy', 'pool', 1_500_000, 32, 'sha512', (err) => (err ? reject(err) : resolve())),
          ),
      ),
    );
  }

  function checker(offload: SignatureOffload, events: string[]) {
    return (name: string, { input, signature } = good) =>
      new Promise<boolean>((resolve) =>
        offload.verify('RS256', input, signature, rsa.publicKey, (valid) => {
          events.push(name);
          resolve(valid);
        }),
      );
  }

  /** A new offload, the pool then stalled, and one check queued on it; `events` records answers. */
  function queueOnStalledPool() {
    const offload = new SignatureOffload();
    const events: string[] = [];
    const check = checker(offload, events);
    const pool = stallThePool().then(() => events.push('pool free'));
    const queued = check('queued on the stalled pool');
    return { offload, events, check, pool, queued };
  }

  it('checks on the event loop while the thread pool is stalled, and goes back to the pool after', async function () {
    this.timeout(20_000);
    const { offload, events, check, pool, queued } = queueOnStalledPool();
    await sleep(THREAD_POOL_STALL_MS + 20);
    assert.equal(await check('on the event loop'), true);
    assert.equal(await check('forged, on the event loop', forged), false);
    assert.ok(!events.includes('pool free'), 'answered while the pool is still taken');
    assert.equal(await queued, true, 'the check stuck on the pool is answered without waiting for it');
    assert.ok(!events.includes('pool free'));
    assert.equal(offload.checksOnEventLoop, 3);

    await pool;
    await sleep(THREAD_POOL_STALL_MS * 2);
    assert.equal(await check('on the pool again'), true);
    assert.equal(offload.checksOnEventLoop, 3, 'back on the pool once it moves again');
  });

  it('does not take a busy pool that keeps answering for a stalled one', async function () {
    this.timeout(20_000);
    const offload = new SignatureOffload();
    const check = checker(offload, []);
    // 64 checks on the pool at all times, for several of the watchdog's looks.
    const until = performance.now() + THREAD_POOL_STALL_MS * 3.5;
    let checks = 0;
    const worker = async (): Promise<void> => {
      while (performance.now() < until) {
        checks++;
        assert.equal(await check('busy'), true);
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
    assert.ok(checks > 64);
    assert.equal(offload.checksOnEventLoop, 0, 'every check answered by the pool');
  });

  it('does not take refusals answered at once for progress of a stalled pool', async function () {
    this.timeout(20_000);
    const { events, check, pool, queued } = queueOnStalledPool();
    // An anonymous client keeps sending signatures of the wrong length (refused without the pool).
    const truncated = { input: good.input, signature: good.signature.subarray(1) };
    for (let i = 0; i < 6; i++) {
      assert.equal(await check('truncated', truncated), false);
      await sleep(THREAD_POOL_STALL_MS / 4);
    }
    assert.equal(await check('good, on the event loop'), true);
    assert.equal(await queued, true);
    assert.ok(!events.includes('pool free'), 'the stall was seen despite the refusals');
    await pool;
  });
});

function ecCurve(alg: string): string {
  return { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg]!;
}
