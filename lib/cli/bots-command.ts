/** `jwt-gate bots …`: manage bots and their tokens directly in the configured store. */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { BotService, type BotView } from '../bots/bot-service.js';
import { loadOrCreateDpopKey } from '../client/dpop-key.js';
import { jwkThumbprint, type ThumbprintJwk } from '../keys/jwk-thumbprint.js';
import { EXPIRY_CHOICES } from '../tokens/expiry.js';
import type { CliIo } from './cli-io.js';
import {
  CLI_ACTOR,
  type ConfigOptions,
  collect,
  iso,
  lazyMinter,
  textTable,
  withConfig,
  withStore,
} from './cli-helpers.js';

/**
 * Registers `bots list|create|delete|scopes|dpop|token|revoke`. They open the store and (for `token`) the
 * signing key named by the configuration, with no server involved — for bootstrapping before any
 * admin can log in. A running server sees the changes within a second.
 */
export function registerBotsCommands(program: Command, io: CliIo): void {
  const bots = program
    .command('bots')
    .description('manage bots and their tokens in the configured store (no server needed)');

  withConfig(bots.command('list'))
    .description('list bots and their current tokens (metadata only, never a token)')
    .option('--json', 'print JSON')
    .action((options: ConfigOptions & { json?: boolean }) =>
      withBots(options, async (service) => {
        const list = await service.listBots();
        io.out(options.json === true ? `${JSON.stringify(list, null, 2)}\n` : table(list));
      }),
    );

  withConfig(bots.command('create <name>'))
    .description('create a bot (names: lower-case letters, digits, ".", "_", "-")')
    .option('--display-name <text>', 'name shown to people (default: the name)')
    .option('--description <text>', 'what the bot is for')
    .option('--allowed-scope <scope>', 'a scope its tokens may carry (repeat for more)', collect)
    .option('--require-dpop', 'its tokens must be DPoP-bound to a client key (see `bots dpop`)')
    .action(
      (
        name: string,
        options: ConfigOptions & {
          displayName?: string;
          description?: string;
          allowedScope?: string[];
          requireDpop?: boolean;
        },
      ) =>
        withBots(options, async (service) => {
          const bot = await service.createBot(
            {
              name,
              displayName: options.displayName,
              description: options.description,
              allowedScopes: options.allowedScope ?? [],
              requireDpop: options.requireDpop === true,
            },
            CLI_ACTOR,
          );
          const dpop = bot.requireDpop ? '; its tokens must be DPoP-bound' : '';
          io.out(`Created bot "${bot.name}"${allowedLine(bot.allowedScopes)}${dpop}.\n`);
        }),
    );

  withConfig(bots.command('scopes <name> [scopes...]'))
    .description(
      "show the scopes the bot's tokens may carry, or set them to exactly the scopes listed; live tokens follow at once",
    )
    .option('--clear', 'allow no scopes at all')
    .action((name: string, scopes: string[], options: ConfigOptions & { clear?: boolean }) =>
      withBots(options, async (service) => {
        if (scopes.length > 0 && options.clear === true) {
          throw new Error('Give either scopes or --clear, not both.');
        }
        const bot =
          scopes.length > 0 || options.clear === true
            ? await service.setAllowedScopes(name, scopes, CLI_ACTOR)
            : await service.getBot(name);
        io.out(`${bot.allowedScopes.join(' ')}\n`);
      }),
    );

  withConfig(bots.command('dpop <name> [setting]'))
    .description(
      "show whether the bot's tokens must be DPoP-bound (on/off), or set it; on revokes a current unbound token",
    )
    .action((name: string, setting: string | undefined, options: ConfigOptions) =>
      withBots(options, async (service) => {
        if (setting === undefined) {
          io.out(`${(await service.getBot(name)).requireDpop ? 'on' : 'off'}\n`);
          return;
        }
        if (setting !== 'on' && setting !== 'off') throw new Error(`Give on or off, not "${setting}".`);
        const before = await service.getBot(name);
        const bot = await service.setRequireDpop(name, setting === 'on', CLI_ACTOR);
        io.out(`${setting}\n`);
        if (before.token !== null && bot.token === null) {
          io.err(
            `Revoked the unbound token of bot "${name}"; mint a bound one with ` +
              `jwt-gate bots token ${name} --dpop-key <key file>.\n`,
          );
        }
      }),
    );

  withConfig(bots.command('delete <name>'))
    .description('delete a bot; its token stops working at once')
    .action((name: string, options: ConfigOptions) =>
      withBots(options, async (service) => {
        const bot = await service.deleteBot(name, CLI_ACTOR);
        io.out(`Deleted bot "${bot.name}"${bot.token === null ? '' : ' and revoked its token'}.\n`);
      }),
    );

  withConfig(bots.command('token <name>'))
    .description('mint a new token for the bot, replacing its current one; prints the token once')
    .addOption(
      new Option('--expiry <choice>', 'lifetime: OneHour, days (1, 7, 30, 60, 90) or Unlimited')
        .choices(EXPIRY_CHOICES)
        .default('7'),
    )
    .option(
      '--scope <scope>',
      "a scope the token carries, among the bot's allowed scopes (repeat for more; default: all of them)",
      collect,
    )
    .addOption(
      new Option(
        '--dpop-key <file>',
        "bind the token to the public key in this JWK file (a machine's DPoP key; created, mode 0600, if missing)",
      ).conflicts('dpopJkt'),
    )
    .option(
      '--dpop-jkt <thumbprint>',
      "bind the token to the key with this RFC 7638 thumbprint (the token's cnf.jkt)",
    )
    .action(
      (
        name: string,
        options: ConfigOptions & { expiry: string; scope?: string[]; dpopKey?: string; dpopJkt?: string },
      ) =>
        withBots(options, async (service) => {
          const jkt = options.dpopKey === undefined ? options.dpopJkt : keyFileThumbprint(options.dpopKey);
          const minted = await service.generateToken(name, options.expiry, CLI_ACTOR, options.scope, jkt);
          const scopes = (await service.getTokenMetadata(name)).scopes;
          const bound = jkt === undefined ? '' : `, bound to DPoP key ${jkt}`;
          // Only the token on stdout, so `TOKEN=$(jwt-gate bots token …)` captures exactly it.
          io.out(`${minted.JWTToken}\n`);
          const until =
            minted.JWTTokenExpiresAt === null
              ? 'never expires'
              : `expires at ${new Date(minted.JWTTokenExpiresAt).toISOString()}`;
          io.err(
            `Token for bot "${name}" (expiry ${minted.JWTTokenExpiry}, scopes: ${scopes.join(' ') || 'none'}${bound}) ${until}. ` +
              'It is shown only this once and replaces the previous token.\n',
          );
        }),
    );

  withConfig(bots.command('revoke <name>'))
    .description("revoke the bot's current token; it stops working at once")
    .action((name: string, options: ConfigOptions) =>
      withBots(options, async (service) => {
        const result = await service.revokeToken(name, CLI_ACTOR);
        io.out(
          result.revoked
            ? `Revoked the token of bot "${name}".\n`
            : `Bot "${name}" has no current token; nothing to revoke.\n`,
        );
      }),
    );
}

/** Opens the configured store, runs `use` with a bot service on it, closes the store. */
async function withBots(options: ConfigOptions, use: (service: BotService) => Promise<void>): Promise<void> {
  await withStore(options, async (store, config) => {
    const service = new BotService({
      store,
      mintToken: lazyMinter(config),
      principalDomain: config.authorizerConfiguration.principalDomain,
    });
    await service.ensureBots(config.botConfiguration.defaultBots, config.botConfiguration.defaultBotScopes);
    await use(service);
  });
}

/**
 * The RFC 7638 thumbprint of the key in a JWK file: a public JWK as it is; a private one, or none
 * yet, through `loadOrCreateDpopKey` — the clients' own loader, so its checks (mode 0600, a P-256
 * key) hold now rather than at the client's first request, and a missing key is created.
 */
function keyFileThumbprint(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return loadOrCreateDpopKey(path).jkt;
    throw new Error(`Cannot read the DPoP key file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch (error) {
    throw new Error(`The DPoP key file ${path} does not hold a JWK (JSON).`, { cause: error });
  }
  if (typeof jwk !== 'object' || jwk === null)
    throw new Error(`The DPoP key file ${path} does not hold a JWK.`);
  if ('d' in jwk) return loadOrCreateDpopKey(path).jkt;
  try {
    return jwkThumbprint(jwk as ThumbprintJwk);
  } catch (error) {
    throw new Error(`The DPoP key file ${path}: ${(error as Error).message}`, { cause: error });
  }
}

function table(bots: BotView[]): string {
  if (bots.length === 0) return 'No bots.\n';
  const rows = [
    ['NAME', 'DISPLAY NAME', 'TOKEN', 'EXPIRES', 'LAST USED', 'SCOPES'],
    ...bots.map((bot) => [
      bot.name,
      bot.displayName,
      bot.token === null ? '-' : `…${bot.token.last4}${bot.token.dpopJkt === null ? '' : ' (DPoP)'}`,
      bot.token === null ? '-' : bot.token.expiresAt === null ? 'never' : iso(bot.token.expiresAt),
      bot.token?.lastUsedAt == null ? '-' : iso(bot.token.lastUsedAt),
      bot.token === null ? '-' : bot.token.scopes.join(' ') || '(none)',
    ]),
  ];
  return textTable(rows);
}

function allowedLine(scopes: readonly string[]): string {
  return scopes.length === 0 ? '' : ` (allowed scopes: ${scopes.join(' ')})`;
}
