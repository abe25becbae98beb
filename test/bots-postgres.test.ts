import assert from 'node:assert/strict';
import { type Server, type Socket, connect, createServer } from 'node:net';
import request from 'supertest';
import { PostgresStore } from '../lib/store/postgres-store.js';
import {
  type BotApp,
  bearer,
  eventually,
  type SsoFixture,
  startBotApp,
  startSso,
} from './support/bot-app.js';
import { TEST_DATABASE_URL, dropSchemas, requirePostgres, testSchemaName } from './support/postgres.js';

interface TokenBody {
  JWTToken: string;
}

/** A TCP proxy on 127.0.0.1 in front of the test PostgreSQL, which a test can cut and restore. */
class CuttableProxy {
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    const upstream = new URL(TEST_DATABASE_URL);
    const server = createServer((client) => {
      const db = connect(Number(upstream.port || 5432), upstream.hostname);
      for (const [a, b] of [
        [client, db],
        [db, client],
      ] as const) {
        this.#sockets.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.#sockets.delete(a);
          b.destroy();
        });
        a.pipe(b);
      }
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** Drops every connection and refuses new ones, as a stopped server does. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => server?.close(resolve));
  }

  get url(): string {
    const url = new URL(TEST_DATABASE_URL);
    url.host = `127.0.0.1:${this.port}`;
    return url.href;
  }
}

describe('bots on PostgreSQL (shared by several instances)', function () {
  let sso: SsoFixture;
  let schema: string;
  const stores: PostgresStore[] = [];
  const apps: BotApp[] = [];
  let admin: Record<string, string>;

  before(async function () {
    await requirePostgres(this);
    sso = await startSso();
    admin = bearer(sso.token('admin'));
  });
  beforeEach(function () {
    schema = testSchemaName();
  });
  afterEach(async function () {
    for (const { gate } of apps.splice(0)) await gate.close();
    for (const store of stores.splice(0)) await store.close();
    await dropSchemas([schema]);
  });
  after(() => sso?.close());

  /** An app instance with its own store (pool + LISTEN connection) on the test schema. */
  async function instance(url = TEST_DATABASE_URL): Promise<BotApp> {
    const store = new PostgresStore({
      url,
      schema,
      connectionTimeoutMillis: 500,
      minBackoffMs: 50,
      maxBackoffMs: 200,
    });
    stores.push(store);
    const app = await startBotApp(sso, { store });
    apps.push(app);
    return app;
  }
  const status = async (server: BotApp, token: string): Promise<number> =>
    (await request(server.app).get('/api/v1/tables').set(bearer(token))).status;
  async function generate(server: BotApp, name: string): Promise<string> {
    const res = await request(server.app)
      .put(`/api/v1/bots/${name}/token`)
      .set(admin)
      .send({ JWTTokenExpiry: '7' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as TokenBody).JWTToken;
  }

  it('mint on A, use on B; regenerate or revoke on A and B refuses the old token within a second', async function () {
    const [a, b] = [await instance(), await instance()];
    assert.deepEqual(b.gate.health().store, { kind: 'postgres', healthy: true });
    assert.deepEqual(
      (await b.gate.bots.listBots()).map((bot) => bot.name),
      ['ingestion-bot'],
      'created once',
    );
    assert.equal((await request(a.app).post('/api/v1/bots').set(admin).send({ name: 'etl' })).status, 201);

    const first = await generate(a, 'etl');
    await eventually(async () => (await status(b, first)) === 200, 1000, 'B accepting the token minted on A');

    const second = await generate(a, 'etl');
    assert.equal(await status(a, first), 401, 'refused at once where it was replaced');
    const replaced = await eventually(async () => (await status(b, first)) === 401, 3000, 'B refusing it');
    assert.ok(replaced < 1000, `B refused the replaced token after ${replaced} ms`);
    await eventually(async () => (await status(b, second)) === 200, 1000, 'B accepting the new token');

    assert.equal((await request(a.app).delete('/api/v1/bots/etl/token').set(admin)).status, 200);
    const revoked = await eventually(
      async () => (await status(b, second)) === 401,
      3000,
      'B refusing the revoked token',
    );
    assert.ok(revoked < 1000, `B refused the revoked token after ${revoked} ms`);

    const third = await generate(b, 'etl');
    await eventually(async () => (await status(a, third)) === 200, 1000, 'A accepting a token minted on B');
    assert.equal((await request(b.app).delete('/api/v1/bots/etl').set(admin)).status, 200);
    await eventually(
      async () => (await status(a, third)) === 401,
      1000,
      'A refusing the token of a deleted bot',
    );
  });

  it('leaves exactly one valid token when both instances regenerate at once', async function () {
    const [a, b] = [await instance(), await instance()];
    await a.gate.bots.createBot({ name: 'etl' }, 'admin');
    const tokens = await Promise.all([a, b, a, b, a, b].map((server) => generate(server, 'etl')));
    const current = (await stores[0]!.getCurrentToken('etl'))!;
    const jtiOf = (t: string): unknown =>
      (JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as { jti: unknown }).jti;
    const winner = tokens.find((t) => jtiOf(t) === current.jti)!;
    assert.ok(winner !== undefined, 'the current token is one of those returned');
    await eventually(
      async () => (await status(a, winner)) === 200 && (await status(b, winner)) === 200,
      1000,
      'both on the winner',
    );
    for (const server of [a, b]) {
      const valid = [];
      for (const token of tokens) if ((await status(server, token)) === 200) valid.push(token);
      assert.deepEqual(valid, [winner]);
    }
  });

  it('fails closed with 503 for bot tokens while the store is down, keeps SSO tokens working, and recovers', async function () {
    const proxy = new CuttableProxy();
    await proxy.start();
    const server = await instance(proxy.url);
    await server.gate.bots.createBot({ name: 'etl' }, 'admin');
    const bot = await generate(server, 'etl');
    const person = sso.token('alice');
    assert.equal(await status(server, bot), 200);

    await proxy.cut();
    await eventually(
      () => server.gate.health().store?.healthy === false,
      2000,
      'the gate noticing the outage',
    );
    const down = await request(server.app).get('/api/v1/tables').set(bearer(bot));
    assert.equal(down.status, 503, 'a bot token is never accepted while its state cannot be read');
    assert.equal(down.body.errorCode, 'ERR_STORE_UNAVAILABLE');
    assert.ok(Number(down.headers['retry-after']) >= 1);
    assert.equal(await status(server, person), 200, 'SSO tokens do not depend on the store');
    assert.equal((await request(server.app).get('/api/v1/system/health')).status, 503);
    const api = await request(server.app).get('/api/v1/bots').set(admin);
    assert.equal(api.status, 503);
    assert.equal(api.body.errorCode, 'ERR_STORE_UNAVAILABLE');

    await proxy.start(); // same port: the server is back
    await eventually(async () => (await status(server, bot)) === 200, 5000, 'recovery');
    assert.deepEqual(server.gate.health().store, { kind: 'postgres', healthy: true });
    assert.equal((await request(server.app).delete('/api/v1/bots/etl/token').set(admin)).status, 200);
    assert.equal(await status(server, bot), 401, 'revocation works again');
    await proxy.cut();
  });
});
