// Alert lifecycle (docs/collector.md "Alerts"): open → acknowledged (a named person and a comment) →
// resolved (a named person and a comment). Every transition is kept in the alert's history; nothing
// is ever deleted. Resolving restarts the rule's count for that key, so a drift that persists opens a
// new alert only after the rule's number of further windows.
import { CollectorError } from './errors.ts';
import type { AlertHistoryEntry, CollectorStore } from './store.ts';
import type { AlertRecord } from './types.ts';

export const ALERT_INPUT_LIMITS = Object.freeze({ maxNameChars: 100, maxCommentChars: 2000 });

// C0/C1 control characters are refused: names and comments end up in reports and logs.
function hasControl(text: string, allowNewline: boolean): boolean {
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if (allowNewline && c === 0x0a) continue;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

export function checkPerson(by: unknown): string {
  if (typeof by !== 'string') throw new CollectorError('BAD_REQUEST', 'by must be a name');
  const name = by.trim();
  if (name.length === 0 || name.length > ALERT_INPUT_LIMITS.maxNameChars || hasControl(name, false)) {
    throw new CollectorError(
      'BAD_REQUEST',
      `by must be a name of 1–${ALERT_INPUT_LIMITS.maxNameChars} printable characters`,
    );
  }
  return name;
}

export function checkComment(comment: unknown): string {
  if (typeof comment !== 'string') throw new CollectorError('BAD_REQUEST', 'comment must be text');
  const text = comment.trim();
  if (text.length === 0 || text.length > ALERT_INPUT_LIMITS.maxCommentChars || hasControl(text, true)) {
    throw new CollectorError(
      'BAD_REQUEST',
      `comment must be 1–${ALERT_INPUT_LIMITS.maxCommentChars} printable characters`,
    );
  }
  return text;
}

export class AlertService {
  constructor(
    private readonly store: CollectorStore,
    private readonly now: () => number,
  ) {}

  get(id: number): AlertRecord {
    const alert = this.store.alert(id);
    if (alert === null) throw new CollectorError('NOT_FOUND', `no alert ${id}`);
    return alert;
  }

  history(id: number): AlertHistoryEntry[] {
    this.get(id);
    return this.store.alertHistory(id);
  }

  acknowledge(id: number, by: unknown, comment: unknown): AlertRecord {
    const person = checkPerson(by);
    const text = checkComment(comment);
    return this.store.write(() => {
      const alert = this.get(id);
      if (alert.state !== 'open') {
        throw new CollectorError(
          'CONFLICT',
          `alert ${id} is ${alert.state}; only an open alert can be acknowledged`,
        );
      }
      const atMs = this.now();
      const next: AlertRecord = {
        ...alert,
        state: 'acknowledged',
        acknowledged: { by: person, comment: text, atMs },
      };
      this.store.updateAlert(next);
      this.store.addAlertHistory({ alertId: id, atMs, action: 'acknowledged', by: person, comment: text });
      return next;
    });
  }

  resolve(id: number, by: unknown, comment: unknown): AlertRecord {
    const person = checkPerson(by);
    const text = checkComment(comment);
    return this.store.write(() => {
      const alert = this.get(id);
      if (alert.state !== 'acknowledged') {
        throw new CollectorError(
          'CONFLICT',
          `alert ${id} is ${alert.state}; it must be acknowledged (by a named person) before it is resolved`,
        );
      }
      const atMs = this.now();
      const next: AlertRecord = {
        ...alert,
        state: 'resolved',
        resolved: { by: person, comment: text, atMs },
      };
      this.store.updateAlert(next);
      this.store.addAlertHistory({ alertId: id, atMs, action: 'resolved', by: person, comment: text });
      this.store.putStreak(alert.manifestSha256, alert.role, {
        key: alert.key,
        streak: 0,
        lastWindowMs: alert.lastWindowMs,
        windows: [],
      });
      return next;
    });
  }
}
