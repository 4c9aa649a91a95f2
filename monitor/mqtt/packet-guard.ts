// Bounds inbound MQTT packets at the socket, before mqtt.js buffers them (safety review: on MQTT
// 3.1.1 nothing else does — there is no Maximum Packet Size to advertise — and mqtt.js checks an
// MQTT 5 packet's size only once the whole packet is in memory).
//
// The guard sits between the socket and mqtt.js and reads only the fixed header of every packet
// (MQTT 3.1.1 §2.2, MQTT 5 §2.1: type and flags, then the Remaining Length, a variable byte integer
// of at most four bytes) and, for a PUBLISH, its variable header (topic, packet identifier, and with
// MQTT 5 the length of its properties; §3.3.2). A PUBLISH whose payload exceeds the limit for its
// topic is consumed as it arrives and never stored: mqtt.js receives a stub PUBLISH with the same
// packet identifier and QoS, an empty payload and the reserved topic STUB_TOPIC, so that mqtt.js
// acknowledges it in order through its own write path (the broker forgets it instead of re-sending
// it forever on a persistent session) and the client learns what was dropped from `onOversized`,
// in stream order. Any other packet larger than `maxControlPacketBytes`, or a malformed header,
// ends the connection. Memory held per connection: at most one PUBLISH variable header (≤ 64 KiB +
// 7 bytes) besides what mqtt.js holds of packets within the limits.
import { Duplex } from 'node:stream';

/** Topic of the stub PUBLISH that stands in for a dropped one (MQTT '$' topics match no wildcard). */
export const STUB_TOPIC = '$vigil/dropped';

export interface DroppedPublish {
  readonly topic: string;
  /** Payload bytes the sender declared (never read). */
  readonly payloadBytes: number;
  readonly limit: number;
}

export interface PacketGuardOptions {
  readonly protocol: 4 | 5;
  /** Largest payload accepted on `topic`, in bytes. */
  readonly payloadLimit: (topic: string) => number;
  /** Largest Remaining Length of any packet other than PUBLISH (CONNACK, SUBACK, PUBACK…). */
  readonly maxControlPacketBytes: number;
  /** The connection is being closed for a packet the guard cannot bound. */
  readonly onViolation: (message: string) => void;
}

const PUBLISH = 3;
/** MQTT 5 properties of a PUBLISH we accept; larger ones are dropped with the packet. */
const MAX_PUBLISH_PROPERTIES_BYTES = 64 * 1024;
/** Topic length + topic + packet id + properties length: the most of a PUBLISH read before deciding. */
const MAX_PUBLISH_HEAD_BYTES = 2 + 0xffff + 2 + 4;
/** Characters of a dropped publish's topic kept for the report (the queue must stay small). */
const DROPPED_TOPIC_BYTES = 256;

type State =
  | { readonly kind: 'header' } // expecting the first byte of a packet
  | { readonly kind: 'length'; readonly first: number; value: number; bytes: number }
  | {
      readonly kind: 'publish-head';
      readonly first: number;
      readonly remaining: number;
      /** Bytes of the fixed header (type byte + Remaining Length), held in `held`. */
      readonly headerBytes: number;
      /** The variable header read so far (one allocation, filled in place: no re-concatenation). */
      readonly head: Buffer;
      fill: number;
    }
  | { readonly kind: 'pass'; left: number }
  | { readonly kind: 'skip'; left: number };

/** Wraps `socket` (net or TLS): writes go straight through, reads come out bounded. */
export class PacketGuard extends Duplex {
  private state: State = { kind: 'header' };
  /** Header bytes of the current packet, held until its fate is known. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** Dropped publishes whose stub mqtt.js has not handled yet, oldest first. */
  private readonly dropped: DroppedPublish[] = [];
  private failed = false;

  constructor(
    private readonly inner: Duplex,
    private readonly options: PacketGuardOptions,
  ) {
    super({ allowHalfOpen: false });
    inner.on('data', (chunk: Buffer) => {
      this.ingest(chunk);
    });
    inner.on('end', () => {
      this.push(null);
    });
    inner.on('error', (error: Error) => {
      this.destroy(error);
    });
    inner.on('close', () => {
      this.destroy();
    });
  }

  /** Called by the client when mqtt.js hands it a stub: the next dropped publish, in order. */
  takeDropped(): DroppedPublish | undefined {
    return this.dropped.shift();
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeOut(chunk, callback);
  }

  /** mqtt-packet corks the stream per packet: one socket write per batch of whole packets. */
  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    this.writeOut(Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  private writeOut(bytes: Buffer, callback: (error?: Error | null) => void): void {
    if (this.inner.write(bytes)) callback();
    else
      this.inner.once('drain', () => {
        callback();
      });
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.destroy();
    callback(error);
  }

  private ingest(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.failed) {
      const state = this.state;
      switch (state.kind) {
        case 'header': {
          this.hold(chunk.subarray(at, at + 1));
          this.state = { kind: 'length', first: chunk[at] as number, value: 0, bytes: 0 };
          at += 1;
          break;
        }
        case 'length': {
          const byte = chunk[at] as number;
          this.hold(chunk.subarray(at, at + 1));
          at += 1;
          state.value += (byte & 0x7f) * 128 ** state.bytes;
          state.bytes += 1;
          if (byte & 0x80) {
            if (state.bytes === 4) this.violation('malformed Remaining Length (more than four bytes)');
            break;
          }
          this.lengthKnown(state.first, state.value, 1 + state.bytes);
          break;
        }
        case 'publish-head': {
          // Hold just enough of the variable header to read topic, packet id and properties length.
          const take = Math.min(state.head.length - state.fill, chunk.length - at);
          chunk.copy(state.head, state.fill, at, at + take);
          state.fill += take;
          at += take;
          this.tryDecidePublish(state);
          break;
        }
        case 'pass': {
          const take = Math.min(state.left, chunk.length - at);
          this.forward(chunk.subarray(at, at + take));
          at += take;
          state.left -= take;
          if (state.left === 0) this.state = { kind: 'header' };
          break;
        }
        case 'skip': {
          const take = Math.min(state.left, chunk.length - at);
          at += take;
          state.left -= take;
          if (state.left === 0) this.state = { kind: 'header' };
          break;
        }
      }
    }
  }

  private lengthKnown(first: number, remaining: number, headerBytes: number): void {
    const type = first >> 4;
    if (type === PUBLISH) {
      if (remaining < 2) {
        this.violation('PUBLISH shorter than its topic length');
        return;
      }
      const head = Buffer.allocUnsafe(Math.min(remaining, MAX_PUBLISH_HEAD_BYTES));
      this.state = { kind: 'publish-head', first, remaining, headerBytes, head, fill: 0 };
      return;
    }
    if (remaining > this.options.maxControlPacketBytes) {
      this.violation(
        `packet of type ${type} with ${remaining} bytes exceeds ${this.options.maxControlPacketBytes}`,
      );
      return;
    }
    this.release();
    this.state = remaining === 0 ? { kind: 'header' } : { kind: 'pass', left: remaining };
  }

  private tryDecidePublish(state: Extract<State, { kind: 'publish-head' }>): void {
    const { first, remaining } = state;
    const head = state.head.subarray(0, state.fill);
    const available = head.length;
    if (available < 2) return;
    const topicLength = head.readUInt16BE(0);
    const qos = (first >> 1) & 3;
    if (qos === 3) {
      this.violation('PUBLISH with QoS 3');
      return;
    }
    let need = 2 + topicLength + (qos > 0 ? 2 : 0);
    if (need > remaining) {
      this.violation('PUBLISH topic longer than the packet');
      return;
    }
    if (available < need) return;
    let propertiesBytes = 0;
    if (this.options.protocol === 5) {
      // Properties length: a variable byte integer right after the packet identifier.
      let value = 0;
      let bytes = 0;
      for (;;) {
        if (need + bytes >= remaining) {
          this.violation('PUBLISH properties length runs past the packet');
          return;
        }
        if (need + bytes >= available) return; // not here yet
        const byte = head[need + bytes] as number;
        value += (byte & 0x7f) * 128 ** bytes;
        bytes += 1;
        if (!(byte & 0x80)) break;
        if (bytes === 4) {
          this.violation('malformed PUBLISH properties length');
          return;
        }
      }
      need += bytes;
      propertiesBytes = value;
    }
    const topicBytes = head.subarray(2, 2 + topicLength);
    const topic = topicBytes.toString('utf8');
    const payloadBytes = remaining - need - propertiesBytes;
    if (payloadBytes < 0) {
      this.violation('PUBLISH properties longer than the packet');
      return;
    }
    const limit = this.options.payloadLimit(topic);
    const consumed = state.fill;
    if (payloadBytes <= limit && propertiesBytes <= MAX_PUBLISH_PROPERTIES_BYTES && topic !== STUB_TOPIC) {
      // Within bounds: hand over what is held and pass the rest through as it comes.
      this.hold(head);
      this.release();
      const left = remaining - consumed;
      this.state = left === 0 ? { kind: 'header' } : { kind: 'pass', left };
      return;
    }
    if (qos === 2) {
      // mqtt.js hands a QoS 2 message over only at PUBREL, out of step with the other stubs; our
      // subscriptions are QoS 1, so a broker never has a reason to send one.
      this.violation(`oversized QoS 2 PUBLISH on ${JSON.stringify(topic.slice(0, 64))}`);
      return;
    }
    // Too large: drop it unread, hand mqtt.js a stub with the same id and QoS to acknowledge.
    this.held = [];
    this.heldBytes = 0;
    const packetId = qos > 0 ? Buffer.from(head.subarray(2 + topicLength, 4 + topicLength)) : Buffer.alloc(0);
    // A fresh, short copy of the topic: a queued entry must not pin a 64 KiB string.
    const reported = topicBytes.subarray(0, Math.min(topicLength, DROPPED_TOPIC_BYTES)).toString('utf8');
    this.dropped.push({ topic: reported, payloadBytes, limit });
    this.forward(stubPublish(first, packetId, this.options.protocol));
    const left = remaining - consumed;
    this.state = left === 0 ? { kind: 'header' } : { kind: 'skip', left };
  }

  private hold(bytes: Buffer): void {
    this.held.push(bytes);
    this.heldBytes += bytes.length;
  }

  private release(): void {
    if (this.heldBytes > 0) this.forward(Buffer.concat(this.held));
    this.held = [];
    this.heldBytes = 0;
  }

  private forward(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (!this.push(bytes)) this.inner.pause();
  }

  private violation(message: string): void {
    this.failed = true;
    this.held = [];
    this.heldBytes = 0;
    this.options.onViolation(message);
    this.destroy();
  }
}

/** PUBLISH to STUB_TOPIC, same flags (DUP, QoS, RETAIN) and packet id, empty payload. */
function stubPublish(first: number, packetId: Buffer, protocol: 4 | 5): Buffer {
  const topic = Buffer.from(STUB_TOPIC, 'utf8');
  const remaining = 2 + topic.length + packetId.length + (protocol === 5 ? 1 : 0);
  const out = Buffer.alloc(2 + remaining);
  out[0] = first;
  out[1] = remaining; // < 128
  out.writeUInt16BE(topic.length, 2);
  topic.copy(out, 4);
  packetId.copy(out, 4 + topic.length);
  if (protocol === 5) out[out.length - 1] = 0; // no properties
  return out;
}
