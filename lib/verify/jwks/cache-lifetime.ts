/**
 * How long fetched keys stay fresh, from the key server's `Cache-Control` (RFC 9111 §5.2.2),
 * kept within our own bounds: a server must not make us refetch on every request (`max-age=0`)
 * nor keep a removed key trusted for days.
 */

/** Bounds of the cache lifetime, seconds. */
export interface CacheLifetimeBounds {
  minCacheSeconds: number;
  maxCacheSeconds: number;
  defaultCacheSeconds: number;
}

/**
 * Seconds the keys of one response stay fresh: `max-age` clamped to [min, max]; `no-store` or
 * `no-cache` → min; absent or unparsable → default (also clamped).
 */
export function cacheLifetimeSeconds(cacheControl: string | undefined, bounds: CacheLifetimeBounds): number {
  const clamp = (seconds: number): number =>
    Math.min(bounds.maxCacheSeconds, Math.max(bounds.minCacheSeconds, seconds));
  if (cacheControl === undefined) return clamp(bounds.defaultCacheSeconds);

  let maxAge: number | undefined;
  for (const directive of cacheControl.split(',')) {
    const [rawName = '', rawValue] = directive.split('=', 2);
    const name = rawName.trim().toLowerCase();
    if (name === 'no-store' || name === 'no-cache') return bounds.minCacheSeconds;
    if (name === 'max-age' && rawValue !== undefined) {
      const value = rawValue.trim().replace(/^"(.*)"$/, '$1');
      // RFC 9111 §1.2.2: delta-seconds is 1*DIGIT; anything else is ignored.
      if (/^\d+$/.test(value)) maxAge = Number(value);
    }
  }
  return clamp(maxAge ?? bounds.defaultCacheSeconds);
}
