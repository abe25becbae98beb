/**
 * Stateless DPoP server nonces (RFC 9449 §8): `base64url(step ‖ HMAC-SHA256(secret, step))`, where
 * `step` is the number of the current time step (8 bytes, big-endian). A nonce is accepted during
 * its own step and the next one, so it lives one to two steps; nothing is stored. Instances that
 * share the secret accept each other's nonces.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DpopNonceVerdict } from '../dpop/verify-proof.js';

/** Length of one time step, seconds. */
export const DPOP_NONCE_STEP_SECONDS = 60;

/** The HMAC is cut to 16 bytes (128 bits): enough against forgery, and the nonce stays short. */
const MAC_BYTES = 16;
const NONCE_LENGTH = Math.ceil(((8 + MAC_BYTES) * 4) / 3);

export class DpopNonces {
  readonly #secret: Buffer;
  readonly #now: () => number;
  #cachedStep = -1;
  #cachedNonce = '';

  /** `secret`: empty for a random one (this process only). `now`: epoch ms. */
  constructor(secret: string, now: () => number) {
    this.#secret = secret === '' ? randomBytes(32) : Buffer.from(secret, 'utf8');
    this.#now = now;
  }

  /** The nonce of the current step (computed once per step). */
  current(): string {
    const step = this.#step();
    if (step !== this.#cachedStep) {
      this.#cachedNonce = this.#nonceOf(step).toString('base64url');
      this.#cachedStep = step;
    }
    return this.#cachedNonce;
  }

  /** The verdict on a proof's `nonce`: `valid` for the current or the previous step's nonce. */
  verdict = (value: string | undefined): DpopNonceVerdict => {
    if (value === undefined) return 'missing';
    if (value.length !== NONCE_LENGTH) return 'invalid';
    const bytes = Buffer.from(value, 'base64url');
    if (bytes.length !== 8 + MAC_BYTES || bytes.toString('base64url') !== value) return 'invalid';
    const step = Number(bytes.readBigUInt64BE(0));
    const current = this.#step();
    if (step !== current && step !== current - 1) return 'invalid';
    return timingSafeEqual(bytes, this.#nonceOf(step)) ? 'valid' : 'invalid';
  };

  #step(): number {
    return Math.floor(this.#now() / 1000 / DPOP_NONCE_STEP_SECONDS);
  }

  #nonceOf(step: number): Buffer {
    const stepBytes = Buffer.alloc(8);
    stepBytes.writeBigUInt64BE(BigInt(step));
    const mac = createHmac('sha256', this.#secret).update(stepBytes).digest().subarray(0, MAC_BYTES);
    return Buffer.concat([stepBytes, mac]);
  }
}
