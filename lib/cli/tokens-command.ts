/** `jwt-gate tokens …`: people's personal access tokens, directly in the configured store. */
import { Option, type Command } from 'commander';
import { PersonalTokenService, type PersonalTokenView } from '../bots/personal-token-service.js';
import { EXPIRY_CHOICES } from '../tokens/expiry.js';
import type { Principal } from '../verify/principal.js';
import { asciiLower } from '../verify/resolve-principal.js';
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

interface CreateOptions extends ConfigOptions {
  name: string;
  expiry: string;
  scope?: string[];
  email?: string;
}

/**
 * Registers `tokens list|create|revoke`: an operator's view of people's personal access tokens, on
 * the store and (for `create`) with the signing key named by the configuration, with no server
 * involved. `<user>` is a principal name, ASCII lower-cased as the gate does.
 */
export function registerTokensCommands(program: Command, io: CliIo): void {
  const tokens = program
    .command('tokens')
    .description("manage people's personal access tokens in the configured store (no server needed)");

  withConfig(tokens.command('list <user>'))
    .description("list the person's tokens that are not revoked (metadata only, never a token)")
    .option('--json', 'print JSON')
    .action((user: string, options: ConfigOptions & { json?: boolean }) =>
      withTokens(options, async (service) => {
        const userName = asciiLower(user);
        const list = await service.list(userName);
        io.out(options.json === true ? `${JSON.stringify(list, null, 2)}\n` : table(userName, list));
      }),
    );

  withConfig(tokens.command('create <user>'))
    .description('mint a personal access token for the person, as an operator; prints the token once')
    .requiredOption('--name <text>', 'what the token is for (1 to 128 characters)')
    .addOption(
      new Option('--expiry <choice>', 'lifetime: OneHour, days (1, 7, 30, 60, 90) or Unlimited')
        .choices(EXPIRY_CHOICES)
        .default('7'),
    )
    .option('--scope <scope>', 'a scope the token carries (repeat for more; default: none)', collect)
    .option('--email <address>', "the person's email, put in the token's email claim (default: none)")
    .action((user: string, options: CreateOptions) =>
      withTokens(options, async (service, maxTokensPerUser) => {
        const scopes = options.scope ?? [];
        const minted = await service.generate(
          operatorMinted(asciiLower(user), options.email ?? null, scopes),
          { tokenName: options.name, JWTTokenExpiry: options.expiry, scopes },
          CLI_ACTOR,
        );
        // Only the token on stdout, so `TOKEN=$(jwt-gate tokens create …)` captures exactly it.
        io.out(`${minted.JWTToken}\n`);
        const until =
          minted.JWTTokenExpiresAt === null ? 'never expires' : `expires at ${iso(minted.JWTTokenExpiresAt)}`;
        io.err(
          `Personal access token "${minted.tokenName}" (id ${minted.id}) for "${minted.userName}" ` +
            `(expiry ${minted.JWTTokenExpiry}, scopes: ${minted.scopes.join(' ') || 'none'}) ${until}. ` +
            `It is shown only this once; at most ${maxTokensPerUser} live per person.\n`,
        );
      }),
    );

  withConfig(tokens.command('revoke <user> [ids...]'))
    .description('revoke the listed tokens of the person, or all of them; each fails on its next use')
    .option('--all', 'revoke every token of the person')
    .action((user: string, ids: string[], options: ConfigOptions & { all?: boolean }) =>
      withTokens(options, async (service) => {
        const all = options.all === true;
        if (all === ids.length > 0) throw new Error('Give either token ids or --all (exactly one of them).');
        const { userName, revoked } = await service.revoke(asciiLower(user), all ? 'all' : ids, CLI_ACTOR);
        io.out(
          revoked.length === 0
            ? `No live personal access token of "${userName}" matched; nothing revoked.\n`
            : `Revoked ${revoked.length} personal access ${revoked.length === 1 ? 'token' : 'tokens'} of "${userName}": ${revoked.join(' ')}\n`,
        );
      }),
    );
}

/**
 * The person a token is minted for from the command line: a signed-in person as far as
 * `generate` is concerned (not a bot, not itself a personal token), holding exactly the scopes the
 * operator gives, so the token carries those. Admin rights are judged at each use, not here.
 */
function operatorMinted(name: string, email: string | null, scopes: readonly string[]): Principal {
  return {
    name,
    email,
    isBot: false,
    isAdmin: false,
    tokenType: null,
    issuer: CLI_ACTOR,
    subject: name,
    source: CLI_ACTOR,
    tokenId: null,
    scopes,
    expiresAt: null,
    claims: Object.freeze({}),
  };
}

/** Opens the configured store, runs `use` with a personal-token service on it, closes the store. */
function withTokens(
  options: ConfigOptions,
  use: (service: PersonalTokenService, maxTokensPerUser: number) => Promise<void>,
): Promise<void> {
  return withStore(options, async (store, config) => {
    const { maxTokensPerUser } = config.personalTokenConfiguration;
    await use(
      new PersonalTokenService({ store, mintToken: lazyMinter(config), maxTokensPerUser }),
      maxTokensPerUser,
    );
  });
}

function table(userName: string, tokens: PersonalTokenView[]): string {
  if (tokens.length === 0) return `No personal access tokens for "${userName}".\n`;
  const rows = [
    ['ID', 'NAME', 'TOKEN', 'EXPIRES', 'LAST USED', 'SCOPES'],
    ...tokens.map((token) => [
      token.id,
      token.tokenName,
      `…${token.last4}`,
      token.JWTTokenExpiresAt === null
        ? 'never'
        : `${iso(token.JWTTokenExpiresAt)}${token.expired ? ' (expired)' : ''}`,
      token.lastUsedAt === null ? '-' : iso(token.lastUsedAt),
      token.scopes.join(' ') || '(none)',
    ]),
  ];
  return textTable(rows);
}
