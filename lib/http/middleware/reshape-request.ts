/** Added and removed at once; never left on a request. */
const RESHAPE = Symbol('jwt-gate.reshape');

/**
 * Turns an Express request into a dictionary-mode object, with no visible effect, so that adding
 * `req.user` to it, and reading it, is cheap. Why: docs/design.md#the-request-reshape; what it
 * measured: bench/README.md#does-each-optimisation-earn-its-place. On a request already in
 * dictionary mode this is two hash-table operations; an object nothing may be added to is left as
 * it is.
 */
export function reshapeRequest(req: object): void {
  if (!Object.isExtensible(req)) return;
  const scratch = req as { [RESHAPE]?: true };
  scratch[RESHAPE] = true;
  delete scratch[RESHAPE];
}
