import fc from 'fast-check';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import {
  bytesToHex,
  defaultEd25519,
  ed25519SelfTest,
  hexToBytes,
  isCanonicalS,
  nodeEd25519,
  tweetnaclEd25519,
} from '../../../../models/format/index.ts';

const node = nodeEd25519();
const tweet = tweetnaclEd25519();
const impls = [node, tweet];

// RFC 8032 §7.1, TEST 1 and TEST 3 (TEST 2 is the implementation's own self-test).
const RFC8032 = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

/** S + L (little-endian addition): the same point equation, a non-canonical encoding. */
function addOrder(signature: Uint8Array): Uint8Array {
  const L = hexToBytes('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010');
  const out = Uint8Array.from(signature);
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const sum = (out[32 + i] ?? 0) + (L[i] ?? 0) + carry;
    out[32 + i] = sum & 0xff;
    carry = sum >> 8;
  }
  return out;
}

describe('Ed25519 implementations', () => {
  it.each(impls.map((i) => [i.name, i] as const))(
    '%s reproduces the RFC 8032 known answers',
    (_name, impl) => {
      expect(ed25519SelfTest(impl)).toBe(true);
      for (const v of RFC8032) {
        const seed = hexToBytes(v.seed);
        expect(bytesToHex(impl.publicKeyFromSeed(seed))).toBe(v.publicKey);
        expect(bytesToHex(impl.sign(seed, hexToBytes(v.message)))).toBe(v.signature);
        expect(impl.verify(hexToBytes(v.publicKey), hexToBytes(v.message), hexToBytes(v.signature))).toBe(
          true,
        );
      }
    },
  );

  it('node:crypto is chosen where it works', () => {
    expect(defaultEd25519().name).toBe('node:crypto');
  });

  it('both produce byte-identical keys and signatures and accept them crosswise', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 300 }),
        (seed, message) => {
          const pub = node.publicKeyFromSeed(seed);
          expect(bytesToHex(tweet.publicKeyFromSeed(seed))).toBe(bytesToHex(pub));
          const sig = node.sign(seed, message);
          expect(bytesToHex(tweet.sign(seed, message))).toBe(bytesToHex(sig));
          expect(node.verify(pub, message, sig)).toBe(true);
          expect(tweet.verify(pub, message, sig)).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('both reject the same mutated signatures, messages and keys', () => {
    const seed = hexToBytes(RFC8032[1]?.seed ?? '');
    const message = new TextEncoder().encode('approve fall-detector@1.2.0');
    const pub = node.publicKeyFromSeed(seed);
    const sig = node.sign(seed, message);
    fc.assert(
      fc.property(
        fc.nat({ max: 64 + 32 + message.length - 1 }),
        fc.integer({ min: 0, max: 7 }),
        (at, bit) => {
          const s = Uint8Array.from(sig);
          const p = Uint8Array.from(pub);
          const m = Uint8Array.from(message);
          const target = at < 64 ? s : at < 96 ? p : m;
          const index = at < 64 ? at : at < 96 ? at - 64 : at - 96;
          target[index] = (target[index] ?? 0) ^ (1 << bit);
          const verdicts = impls.map((impl) => impl.verify(p, m, s));
          expect(verdicts).toEqual([false, false]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses a non-canonical S in both (tweetnacl alone would accept S + L)', () => {
    const seed = hexToBytes(RFC8032[0]?.seed ?? '');
    const message = new TextEncoder().encode('m');
    const pub = node.publicKeyFromSeed(seed);
    const malleated = addOrder(node.sign(seed, message));
    expect(isCanonicalS(malleated)).toBe(false);
    expect(nacl.sign.detached.verify(message, malleated, pub)).toBe(true);
    expect(node.verify(pub, message, malleated)).toBe(false);
    expect(tweet.verify(pub, message, malleated)).toBe(false);
  });

  it('returns false (never throws) on wrong lengths and invalid keys', () => {
    for (const impl of impls) {
      expect(impl.verify(new Uint8Array(31), new Uint8Array(1), new Uint8Array(64))).toBe(false);
      expect(impl.verify(new Uint8Array(32), new Uint8Array(1), new Uint8Array(63))).toBe(false);
      expect(impl.verify(new Uint8Array(32).fill(0xff), new Uint8Array(1), new Uint8Array(64))).toBe(false);
      expect(() => impl.sign(new Uint8Array(31), new Uint8Array(1))).toThrow(RangeError);
    }
  });
});
