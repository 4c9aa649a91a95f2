// Signed commands on the device (docs/lifecycle.md "Signed commands"): authentication, replay
// protection, a durable pending record, then the action, committed with its `command-accepted` record
// and the nonce's resolution. Every command, accepted or rejected, is audited with who and why.
import type { AuditPayload } from '../state/index.ts';
import {
  CommandRejection,
  authenticateCommand,
  describeCommand,
  type AuthenticatedCommand,
  type CommandTarget,
} from './command.ts';
import { NO_EXTRA, type LifecycleCore, type TxExtra } from './core.ts';
import { freeze } from './freeze.ts';
import { promote } from './promote.ts';
import { revoke } from './revocation.ts';
import { rollback } from './rollback.ts';
import type { ActionOutcome, CommandOutcome } from './types.ts';

/** A promote command aimed at named devices or a cohort is a canary; at the whole fleet, full. */
function targeting(target: CommandTarget): 'canary' | 'full' {
  return target.devices === null && target.cohort === null ? 'full' : 'canary';
}

/**
 * Applies a signed command (MQTT or `vigil command apply`). Every command, accepted or rejected, is
 * audited with who signed it (kid, role), who issued it, and why.
 */
export function applyCommand(
  core: LifecycleCore,
  bytes: Uint8Array,
  via: { readonly via: 'mqtt' | 'local'; readonly topic?: string } = { via: 'local' },
): Promise<CommandOutcome> {
  return core.exclusive(async () => {
    let auth: AuthenticatedCommand;
    try {
      auth = authenticateCommand(bytes, core.trustStore, core.device, core.now(), core.commandPolicy);
    } catch (error) {
      if (!(error instanceof CommandRejection)) throw error;
      // Who: the verified signer, or for a bad signature only the kid it claims (not proof of anything).
      core.record(
        'command-rejected',
        error.signer ? `${error.signer.role}:${error.signer.kid}` : 'unauthenticated',
        {
          code: error.code,
          detail: error.message,
          commandSha256: error.sha256,
          kid: error.signer?.kid ?? null,
          role: error.signer?.role ?? null,
          claimedKid: error.claimedKid,
          issuer: error.command?.issuer ?? null,
          reason: error.command?.reason ?? null,
          command: error.command?.kind ?? null,
          ...via,
        },
      );
      return {
        kind: 'rejected',
        code: error.code,
        detail: error.message,
        kid: error.signer?.kid ?? null,
        command: error.command,
      };
    }
    const actor = `${auth.signer.role}:${auth.signer.kid}`;
    const who = commandWho(auth, via);
    if (core.state.command(auth.nonceHex)) {
      const detail = `nonce ${auth.nonceHex} was used before`;
      core.record('command-rejected', actor, { ...who, code: 'REPLAYED', detail });
      return { kind: 'rejected', code: 'REPLAYED', detail, kid: auth.signer.kid, command: auth.command };
    }
    core.state.transaction('recording a command', () => {
      core.state.insertCommand({
        nonce: auth.nonceHex,
        commandSha256: auth.sha256,
        kind: auth.command.kind,
        receivedAtMs: core.now(),
        expiresAtMs: auth.command.expiresAtMs,
        status: 'pending',
        code: null,
        bytes,
      });
    });
    core.fault('command:recorded');
    return execute(core, auth, via);
  });
}

export function commandWho(
  auth: AuthenticatedCommand,
  via: { readonly via: string; readonly topic?: string },
): AuditPayload {
  const c = auth.command;
  return {
    command: c.kind,
    description: describeCommand(c),
    kid: auth.signer.kid,
    role: auth.signer.role,
    issuer: c.issuer,
    reason: c.reason,
    nonce: auth.nonceHex,
    commandSha256: auth.sha256,
    issuedAtMs: c.issuedAtMs,
    expiresAtMs: c.expiresAtMs,
    target: { fleet: c.target.fleet, devices: c.target.devices, cohort: c.target.cohort },
    ...via,
  };
}

export async function execute(
  core: LifecycleCore,
  auth: AuthenticatedCommand,
  via: { readonly via: string; readonly topic?: string },
): Promise<CommandOutcome> {
  const c = auth.command;
  const actor = `${auth.signer.role}:${auth.signer.kid}`;
  const who = commandWho(auth, via);
  const extra: TxExtra = {
    records: [['command-accepted', actor, who]],
    mutate: () => {
      core.state.resolveCommand(auth.nonceHex, 'accepted', null);
    },
  };
  let outcome: ActionOutcome;
  switch (c.kind) {
    case 'promote':
      outcome = await promote(core, c.family, {
        by: actor,
        scope: targeting(c.target),
        force: c.force,
        reason: c.reason,
        expect: c.bundle,
        extra,
      });
      break;
    case 'rollback':
      outcome = await rollback(core, c.family, {
        cause: 'command',
        by: actor,
        reason: c.reason,
        evidence: null,
        extra,
      });
      break;
    case 'freeze':
    case 'unfreeze':
      outcome = freeze(core, c.kind === 'freeze', actor, c.reason, extra);
      break;
    case 'revoke':
      outcome = await revoke(core, c.bundle, {
        by: actor,
        reason: c.reason,
        source: `command ${auth.nonceHex}`,
        extra,
      });
      break;
  }
  if (outcome.kind === 'rejected') {
    core.commit('recording a rejected command', NO_EXTRA, () => {
      core.state.resolveCommand(auth.nonceHex, 'rejected', outcome.code);
      core.audit.appendInTransaction('command-rejected', actor, {
        ...who,
        code: outcome.code,
        detail: outcome.detail,
      });
    });
    return {
      kind: 'rejected',
      code: outcome.code,
      detail: outcome.detail,
      kid: auth.signer.kid,
      command: c,
    };
  }
  core.fault('command:committed');
  return { kind: 'accepted', command: c, kid: auth.signer.kid, effect: outcome.effect };
}

/** A command that was recorded but not finished before a crash: re-authenticated, then applied. */
export async function replayPending(core: LifecycleCore, bytes: Uint8Array, nonce: string): Promise<void> {
  let auth: AuthenticatedCommand;
  try {
    auth = authenticateCommand(bytes, core.trustStore, core.device, core.now(), core.commandPolicy);
  } catch (error) {
    if (!(error instanceof CommandRejection)) throw error;
    core.commit('settling a pending command', NO_EXTRA, () => {
      core.state.resolveCommand(nonce, 'rejected', error.code);
      core.audit.appendInTransaction('command-rejected', 'runtime', {
        code: error.code,
        detail: `pending since before a restart: ${error.message}`,
        nonce,
        commandSha256: error.sha256,
      });
    });
    return;
  }
  await execute(core, auth, { via: 'recovered' });
}
