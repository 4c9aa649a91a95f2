// Trust rotation on the device (TUF root rotation N → N+1, runtime/trust), audited either way.
import { bytesToHex, sha256 } from '../../models/format/index.ts';
import { TrustError, peekTrustDocument, type TrustStore } from '../trust/index.ts';
import { NO_EXTRA, type LifecycleCore } from './core.ts';
import { sweepRevocations } from './revocation.ts';
import { reverifySlots } from './reverify.ts';
import type { TrustOutcome } from './types.ts';

/** Offers the next trust document (TUF rotation N → N+1); audited either way. */
export function updateTrust(core: LifecycleCore, bytes: Uint8Array, source: string): Promise<TrustOutcome> {
  return core.exclusive(async () => {
    const outcome = offerTrust(core, bytes, source);
    if (outcome.kind === 'rotated') {
      await sweepRevocations(core, `trust version ${outcome.to}`);
      // Revoked approver keys, new thresholds or scopes: every bundle in a slot is verified again.
      await reverifySlots(core);
    }
    return outcome;
  });
}

export function offerTrust(core: LifecycleCore, bytes: Uint8Array, source: string): TrustOutcome {
  const sha = bytesToHex(sha256(bytes));
  const current = core.trustStore;
  let next: TrustStore;
  try {
    const { document } = peekTrustDocument(bytes);
    if (document.version === current.version && sha === current.sha256)
      return { kind: 'unchanged', version: current.version };
    if (document.version === current.version) {
      throw new TrustError('TRUST_ROLLBACK', `another document with the trusted version ${current.version}`);
    }
    next = current.acceptUpdate(bytes);
  } catch (error) {
    if (!(error instanceof TrustError)) throw error;
    core.record('trust-rejected', 'runtime', {
      code: error.code,
      detail: error.message,
      sha256: sha,
      source,
      trustedVersion: current.version,
    });
    return { kind: 'rejected', code: error.code, detail: error.message };
  }
  core.commit('rotating the trust document', NO_EXTRA, () => {
    core.state.saveTrust({
      version: next.version,
      sha256: next.sha256,
      bytes,
      acceptedAtMs: core.now(),
      source,
    });
    core.audit.appendInTransaction('trust-rotated', 'runtime', {
      from: current.version,
      to: next.version,
      sha256: next.sha256,
      source,
      keysAdded: next.document.keys
        .filter((k) => !current.document.keys.some((o) => o.kid === k.kid))
        .map((k) => k.kid),
      keysRemoved: current.document.keys
        .filter((k) => !next.document.keys.some((n) => n.kid === k.kid))
        .map((k) => k.kid),
    });
  });
  core.trustStore = next;
  return { kind: 'rotated', from: current.version, to: next.version };
}
