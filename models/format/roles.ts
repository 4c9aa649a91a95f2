// Roles and deployment stages shared by key files, approvals and the trust document.

/** Roles a trust document binds keys to (least privilege: each key has exactly one). */
export const ROLE_NAMES = ['build', 'qa', 'clinical', 'regulatory', 'release', 'field', 'device'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/** A key's role: one of the roles above, or `root` (signs trust documents only). */
export type KeyRole = RoleName | 'root';
export const KEY_ROLES: readonly KeyRole[] = ['root', ...ROLE_NAMES];

/** Roles whose keys may sign a bundle (build packages it; the others approve it). */
export const BUNDLE_SIGNER_ROLES: readonly RoleName[] = ['build', 'qa', 'clinical', 'regulatory'];

/** How far a release may go: shadow (runs beside the active model), canary (some devices), full. */
export const DEPLOYMENT_STAGES = ['shadow', 'canary', 'full'] as const;
export type DeploymentStage = (typeof DEPLOYMENT_STAGES)[number];

export function isKeyRole(value: unknown): value is KeyRole {
  return typeof value === 'string' && (KEY_ROLES as readonly string[]).includes(value);
}

export function isRoleName(value: unknown): value is RoleName {
  return typeof value === 'string' && (ROLE_NAMES as readonly string[]).includes(value);
}

export function isDeploymentStage(value: unknown): value is DeploymentStage {
  return typeof value === 'string' && (DEPLOYMENT_STAGES as readonly string[]).includes(value);
}
