// Ed25519 (RFC 8032) behind one small interface, with two implementations that produce byte-identical
// signatures (Ed25519 is deterministic) and accept exactly the same signatures:
//   - node:crypto (OpenSSL): ≈ 80× faster verification (DESIGN.md, measured again in bench/bundle.bench.ts);
//   - tweetnacl: portable pure JS, for platforms without Ed25519 in node:crypto.
// Both sit behind the same input checks. In particular RFC 8032 §5.1.7 requires S < L; OpenSSL checks
// it, tweetnacl does not (it would accept S + L), so the check is done here once for both.
import crypto from 'node:crypto';
import nacl from 'tweetnacl';

export interface Ed25519 {
  readonly name: 'node:crypto' | 'tweetnacl';
  /** The 32-byte public key of a 32-byte private key (the RFC 8032 seed). */
  publicKeyFromSeed(seed: Uint8Array): Uint8Array;
  /** A 64-byte signature of `message` by the private key `seed`. */
  sign(seed: Uint8Array, message: Uint8Array): Uint8Array;
  /** Whether `signature` is a valid signature of `message` by `publicKey`; never throws. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

export const ED25519_SEED_BYTES = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

// The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian (RFC 8032 §5.1).
const ORDER_L = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
]);

/** Whether the S half of a signature is a canonical scalar (S < L), RFC 8032 §5.1.7 step 1. */
export function isCanonicalS(signature: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i] ?? 0;
    const l = ORDER_L[i] ?? 0;
    if (s < l) return true;
    if (s > l) return false;
  }
  return false; // S == L
}

function checkSeed(seed: Uint8Array): void {
  if (seed.length !== ED25519_SEED_BYTES) {
    throw new RangeError(`an Ed25519 private key is ${ED25519_SEED_BYTES} bytes, not ${seed.length}`);
  }
}

function wellFormed(publicKey: Uint8Array, signature: Uint8Array): boolean {
  return (
    publicKey.length === ED25519_PUBLIC_KEY_BYTES &&
    signature.length === ED25519_SIGNATURE_BYTES &&
    isCanonicalS(signature)
  );
}

export function tweetnaclEd25519(): Ed25519 {
  return {
    name: 'tweetnacl',
    publicKeyFromSeed(seed) {
      checkSeed(seed);
      return nacl.sign.keyPair.fromSeed(seed).publicKey;
    },
    sign(seed, message) {
      checkSeed(seed);
      return nacl.sign.detached(message, nacl.sign.keyPair.fromSeed(seed).secretKey);
    },
    verify(publicKey, message, signature) {
      if (!wellFormed(publicKey, signature)) return false;
      try {
        return nacl.sign.detached.verify(message, signature, publicKey);
      } catch {
        return false;
      }
    },
  };
}

// DER prefixes of the RFC 8410 encodings of an Ed25519 private key (PKCS #8) and public key (SPKI).
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

function der(prefix: Uint8Array, key: Uint8Array): Buffer {
  return Buffer.concat([prefix, key]);
}

function privateKeyObject(seed: Uint8Array): crypto.KeyObject {
  checkSeed(seed);
  return crypto.createPrivateKey({ key: der(PKCS8_PREFIX, seed), format: 'der', type: 'pkcs8' });
}

export function nodeEd25519(): Ed25519 {
  // Parsing a public key costs about as much as a verification; devices verify with a handful of keys.
  const cache = new Map<string, crypto.KeyObject | null>();
  const publicKeyObject = (publicKey: Uint8Array): crypto.KeyObject | null => {
    const id = Buffer.from(publicKey).toString('hex');
    let key = cache.get(id);
    if (key === undefined) {
      try {
        key = crypto.createPublicKey({ key: der(SPKI_PREFIX, publicKey), format: 'der', type: 'spki' });
      } catch {
        key = null;
      }
      if (cache.size >= 1024) cache.clear();
      cache.set(id, key);
    }
    return key;
  };
  return {
    name: 'node:crypto',
    publicKeyFromSeed(seed) {
      const spki = crypto.createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
      return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
    },
    sign(seed, message) {
      return new Uint8Array(crypto.sign(null, message, privateKeyObject(seed)));
    },
    verify(publicKey, message, signature) {
      if (!wellFormed(publicKey, signature)) return false;
      const key = publicKeyObject(publicKey);
      if (key === null) return false;
      try {
        return crypto.verify(null, message, key, signature);
      } catch {
        return false;
      }
    },
  };
}

// RFC 8032 §7.1, TEST 2 (one-byte message): a known answer used to check an implementation works here.
const SELF_TEST = {
  seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
  publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
  message: '72',
  signature:
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da' +
    '085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
};

/** Whether `impl` reproduces the RFC 8032 known answer (sign and verify). */
export function selfTest(impl: Ed25519): boolean {
  try {
    const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
    const seed = hex(SELF_TEST.seed);
    const message = hex(SELF_TEST.message);
    const signature = impl.sign(seed, message);
    return (
      Buffer.from(impl.publicKeyFromSeed(seed)).toString('hex') === SELF_TEST.publicKey &&
      Buffer.from(signature).toString('hex') === SELF_TEST.signature &&
      impl.verify(hex(SELF_TEST.publicKey), message, signature)
    );
  } catch {
    return false;
  }
}

let chosen: Ed25519 | undefined;

/**
 * The implementation to use on this machine: node:crypto when its Ed25519 passes the known-answer
 * test (≈ 80× faster verification, see bench/bundle.bench.ts), otherwise tweetnacl.
 */
export function defaultEd25519(): Ed25519 {
  if (chosen === undefined) {
    const node = safely(nodeEd25519);
    chosen = node !== null && selfTest(node) ? node : tweetnaclEd25519();
  }
  return chosen;
}

function safely(make: () => Ed25519): Ed25519 | null {
  try {
    return make();
  } catch {
    return null;
  }
}
