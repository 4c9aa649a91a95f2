// Checks a samples frame field by field before any of it touches stream state: frames come from
// firmware through the bridge (or from any caller of the runtime API) and are untrusted input.
import { PipelineError } from './errors.ts';
import type { SamplesFrame, StreamSpec } from './types.ts';

/** A frame carries at most this many samples per channel (≈ 4 min at 250 Hz). */
export const MAX_FRAME_SAMPLES = 1 << 16;
/** Timestamps must lie within ±this of the Unix epoch (about ±317 years). */
export const MAX_ABS_TIMESTAMP_MS = 1e13;
export const MAX_STREAM_CHANNELS = 64;
/** Stream rates the runtime accepts at all (a model's tolerance narrows this further). */
export const MAX_STREAM_RATE_HZ = 100_000;

function bad(streamId: string, message: string): PipelineError {
  return new PipelineError('BAD_FRAME', `stream ${streamId}: ${message}`);
}

/** Validates a frame for a stream of `channelCount` channels; returns its length per channel. */
export function validateFrame(frame: SamplesFrame, streamId: string, channelCount: number): number {
  const f = frame as unknown;
  if (typeof f !== 'object' || f === null) throw bad(streamId, 'the frame is not an object');
  const channels = (f as { channels?: unknown }).channels;
  if (!Array.isArray(channels)) throw bad(streamId, 'channels must be an array of Float32Array');
  if (channels.length !== channelCount) {
    throw new PipelineError(
      'CHANNEL_MISMATCH',
      `stream ${streamId}: frame has ${channels.length} channels, expected ${channelCount}`,
    );
  }
  let length = -1;
  for (const channel of channels as unknown[]) {
    if (!(channel instanceof Float32Array)) throw bad(streamId, 'channels must be Float32Array');
    if (length >= 0 && channel.length !== length) throw bad(streamId, 'channels differ in length');
    length = channel.length;
  }
  if (length <= 0) throw bad(streamId, 'empty frame');
  if (length > MAX_FRAME_SAMPLES)
    throw bad(streamId, `frame of ${length} samples exceeds ${MAX_FRAME_SAMPLES}`);
  const flags = (f as { flags?: unknown }).flags;
  if (flags !== undefined) {
    if (!(flags instanceof Uint8Array)) throw bad(streamId, 'flags must be a Uint8Array');
    if (flags.length !== length) throw bad(streamId, 'flags differ in length from the samples');
  }
  const counter = (f as { firstCounter?: unknown }).firstCounter;
  if (typeof counter !== 'number' || !Number.isSafeInteger(counter) || counter < 0) {
    throw bad(streamId, 'the sample counter must be a non-negative safe integer');
  }
  if (!Number.isSafeInteger(counter + length)) throw bad(streamId, 'the sample counter would overflow');
  const timestamp = (f as { timestampMs?: unknown }).timestampMs;
  if (typeof timestamp !== 'number' || !(Math.abs(timestamp) <= MAX_ABS_TIMESTAMP_MS)) {
    throw bad(streamId, 'the timestamp must be a finite number of ms since the epoch');
  }
  return length;
}

/** Validates the parts of a stream spec the pipeline relies on (the model checks rate and channels). */
export function validateSpec(spec: StreamSpec): void {
  const s = spec as unknown as Record<string, unknown>;
  if (typeof s !== 'object' || (s as unknown) === null)
    throw new PipelineError('BAD_FRAME', 'the stream spec is not an object');
  const id = s.streamId;
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
    throw new PipelineError('BAD_FRAME', 'the stream id must be a string of 1..256 characters');
  }
  if (typeof s.deviceId !== 'string' || s.deviceId.length > 256) {
    throw new PipelineError(
      'BAD_FRAME',
      `stream ${id}: the device id must be a string of at most 256 characters`,
    );
  }
  if (s.cohort !== undefined && (typeof s.cohort !== 'string' || s.cohort.length > 256)) {
    throw new PipelineError(
      'BAD_FRAME',
      `stream ${id}: the cohort must be a string of at most 256 characters`,
    );
  }
  const sensor = s.sensor;
  if (sensor !== 'accel' && sensor !== 'ecg' && sensor !== 'ppg') {
    throw new PipelineError('NO_MODEL_FOR_SENSOR', `stream ${id}: unknown sensor kind`);
  }
  const rate = s.rateHz;
  if (typeof rate !== 'number' || !(rate > 0 && rate <= MAX_STREAM_RATE_HZ)) {
    throw new PipelineError(
      'RATE_MISMATCH',
      `stream ${id}: the rate must be in (0, ${MAX_STREAM_RATE_HZ}] Hz`,
    );
  }
  const count = s.channelCount;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_STREAM_CHANNELS) {
    throw new PipelineError('CHANNEL_MISMATCH', `stream ${id}: 1..${MAX_STREAM_CHANNELS} channels`);
  }
}
