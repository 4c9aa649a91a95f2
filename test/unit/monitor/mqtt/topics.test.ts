import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MqttError,
  checkId,
  deviceTopics,
  fleetFilters,
  parseTopic,
  parseTransferTopic,
  topicMatches,
  transferChunkTopic,
  transferManifestTopic,
} from '../../../../monitor/mqtt/index.ts';

const TID = '0123456789abcdef0123456789abcdef';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof MqttError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('topics', () => {
  it('builds the documented device topics and subscriptions', () => {
    const t = deviceTopics('acme', 'dev-7');
    expect(t.state).toBe('vigil/v1/acme/dev-7/state');
    expect(t.report).toBe('vigil/v1/acme/dev-7/report');
    expect(t.updateStatus).toBe('vigil/v1/acme/dev-7/update/status');
    expect(t.commandFilters).toEqual(['vigil/v1/acme/dev-7/cmd/#', 'vigil/v1/acme/cmd/#']);
    expect(t.updateFilters).toEqual([
      'vigil/v1/acme/dev-7/update/transfer/#',
      'vigil/v1/acme/update/transfer/#',
    ]);
    expect(fleetFilters('acme').updateStatus).toBe('vigil/v1/acme/+/update/status');
  });

  it('rejects ids that could break the topic tree', () => {
    for (const bad of ['', 'a/b', 'a+', '#', 'a b', 'x'.repeat(65), '-lead']) {
      expect(codeOf(() => checkId('device', bad))).toBe('BAD_TOPIC');
    }
    expect(codeOf(() => checkId('device', 'cmd'))).toBe('BAD_TOPIC');
    expect(codeOf(() => transferManifestTopic({ kind: 'fleet', fleet: 'f' }, 'XYZ'))).toBe('BAD_TOPIC');
  });

  it('never lets the device subscriptions match its own status topic', () => {
    const t = deviceTopics('f', 'd');
    for (const f of [...t.updateFilters, ...t.commandFilters]) {
      expect(topicMatches(f, t.updateStatus)).toBe(false);
      expect(topicMatches(f, t.state)).toBe(false);
    }
  });

  it('round-trips transfer topics for both scopes', () => {
    const dev = { kind: 'device' as const, fleet: 'f', device: 'd1' };
    expect(parseTransferTopic(transferManifestTopic(dev, TID))).toEqual({
      scope: dev,
      transferId: TID,
      part: { kind: 'manifest' },
    });
    const fleet = { kind: 'fleet' as const, fleet: 'f' };
    expect(parseTransferTopic(transferChunkTopic(fleet, TID, 41))).toEqual({
      scope: fleet,
      transferId: TID,
      part: { kind: 'chunk', index: 41 },
    });
    expect(parseTransferTopic(`vigil/v1/f/d/update/transfer/${TID}/chunk/01`)).toBeNull();
    expect(parseTransferTopic(`vigil/v1/f/d/update/transfer/${TID}/chunk/1/x`)).toBeNull();
    expect(parseTransferTopic('vigil/v1/f/d/update/status')).toBeNull();
    expect(parseTopic('vigil/v1/f/d/report')).toEqual({
      kind: 'device',
      fleet: 'f',
      device: 'd',
      suffix: 'report',
    });
  });

  it('matches MQTT filters like a broker (property against a regex model)', () => {
    const level = fc.constantFrom('a', 'b', 'c');
    fc.assert(
      fc.property(
        fc.array(level, { minLength: 1, maxLength: 4 }),
        fc.array(fc.constantFrom('a', 'b', '+'), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (topicLevels, filterLevels, hash) => {
          const topic = topicLevels.join('/');
          const filter = [...filterLevels, ...(hash ? ['#'] : [])].join('/');
          const body = filterLevels.map((l) => (l === '+' ? '[^/]+' : l)).join('/');
          const model = new RegExp(`^${body}${hash ? '(/.*)?' : ''}$`);
          expect(topicMatches(filter, topic)).toBe(model.test(topic));
        },
      ),
    );
  });
});
