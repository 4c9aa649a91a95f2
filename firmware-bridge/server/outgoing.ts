// Runtime values → wire messages. Fields are copied one by one so that the wire shape is exactly the
// documented CDDL, whatever else a runtime object may carry.
import type { RuntimeStatus } from '../../runtime/api.ts';
import type { FallbackOutput, ResultProvenance, ResultStatus } from '../../runtime/pipeline/index.ts';
import type { AlertMessage, ResultMessage } from '../protocol/index.ts';
import type { Outgoing } from './session.ts';

function output(o: FallbackOutput): FallbackOutput {
  switch (o.kind) {
    case 'suppressed':
      return { kind: 'suppressed' };
    case 'quality-alert':
      return { kind: 'quality-alert', message: o.message };
    case 'rule':
      return { kind: 'rule', ruleVersion: o.ruleVersion, positive: o.positive, label: o.label };
  }
}

export function wireStatus(s: ResultStatus): ResultStatus {
  switch (s.kind) {
    case 'ok':
      return { kind: 'ok', score: s.score, label: s.label, positive: s.positive, alert: s.alert };
    case 'indeterminate':
      return { kind: 'indeterminate', score: s.score, reason: s.reason };
    case 'fallback':
      return { kind: 'fallback', reason: s.reason, detail: s.detail, output: output(s.output) };
  }
}

export function wireProvenance(p: ResultProvenance): ResultProvenance {
  return {
    bundleId: p.bundleId,
    modelFamily: p.modelFamily,
    modelVersion: p.modelVersion,
    sequence: p.sequence,
    manifestSha256: p.manifestSha256,
    thresholdsVersion: p.thresholdsVersion,
    postprocessingVersion: p.postprocessingVersion,
    qualityPolicyVersion: p.qualityPolicyVersion,
    fallbackPolicyVersion: p.fallbackPolicyVersion,
    runtimeVersion: p.runtimeVersion,
    backend: p.backend,
  };
}

export function wireRuntimeStatus(s: RuntimeStatus): RuntimeStatus {
  return {
    deviceId: s.deviceId,
    runtimeVersion: s.runtimeVersion,
    models: s.models.map((m) => ({
      modelFamily: m.modelFamily,
      bundleId: m.bundleId,
      version: m.version,
      sequence: m.sequence,
      sensor: m.sensor,
      backend: m.backend,
      candidateBundleId: m.candidateBundleId,
    })),
    openStreams: s.openStreams,
    frozen: s.frozen,
  };
}

export function outgoingMessage(item: Outgoing): ResultMessage | AlertMessage {
  switch (item.kind) {
    case 'result': {
      const r = item.result;
      return {
        type: 'result',
        seq: item.seq,
        result: r.resultId,
        stream: item.stream,
        window: r.windowIndex,
        first: r.firstCounter,
        last: r.lastCounter,
        startMs: r.startMs,
        endMs: r.endMs,
        cohort: r.cohort,
        status: wireStatus(r.status),
        provenance: wireProvenance(r.provenance),
        latencyMs: r.latencyMs,
      };
    }
    case 'alert': {
      const a = item.alert;
      return {
        type: 'alert',
        seq: item.seq,
        result: a.resultId,
        stream: item.stream,
        modelFamily: a.modelFamily,
        bundleId: a.bundleId,
        label: a.label,
        atMs: a.atMs,
        source: a.source,
      };
    }
  }
}
