/**
 * One JWKS download through jwks-rsa's client, with our hardened fetch as its transport. Only
 * jwks-rsa's transport seam is used: its cache and rate limit are off (this module's caller does
 * both better) and its PEM conversion is skipped (keys are parsed once into KeyObjects instead).
 */
import jwksRsa from 'jwks-rsa';
import { fetchJwks } from './fetch-jwks.js';
import type { JwksFetchLimits, JwksResponse } from './fetch-jwks.js';

/** Downloads the JWKS at `url`; rejects with the hardened fetch's error. */
export async function loadJwks(
  url: URL,
  limits: JwksFetchLimits,
  signal: AbortSignal,
): Promise<JwksResponse> {
  let response: JwksResponse | undefined;
  const client = new jwksRsa.JwksClient({
    jwksUri: url.href,
    cache: false,
    rateLimit: false,
    fetcher: async () => {
      response = await fetchJwks(url, limits, signal);
      return { keys: response.keys };
    },
  });
  await client.getKeys();
  if (response === undefined) throw new Error(`the key server at ${url.href} gave no response`);
  return response;
}
