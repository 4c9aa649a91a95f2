// The device's MQTT client (issue 7). It owns one connection at a time and never lets mqtt.js
// reconnect by itself: each connection is a fresh mqtt.js client with a stable client id and
// clean=false (so the broker keeps the QoS 1 subscriptions and the messages queued for us), a Last
// Will carrying the next birth/death sequence, and our own backoff with seeded jitter. Delivery
// state lives in the durable outbox, not in mqtt.js's in-memory store: on every connection the
// outbox is drained again in sequence order, pipelined up to `inflightWindow` unacknowledged
// publishes, and an entry is deleted only on its PUBACK. A message that was in flight when a
// connection dropped is therefore published again (at-least-once); receivers dedupe by
// (device, sequence) for an exactly-once effect.
import mqtt from 'mqtt';
import type { IClientOptions, IConnackPacket, IPublishPacket, MqttClient } from 'mqtt';
import { backoffDelayMs, seededRandom } from './backoff.ts';
import { encodeState } from './birth.ts';
import type { StatePayload } from './birth.ts';
import { MqttError } from './errors.ts';
import type { MqttErrorCode } from './errors.ts';
import { resolveDeviceClientOptions } from './options.ts';
import type { DeviceClientOptions } from './options.ts';
import { PacketGuard, STUB_TOPIC } from './packet-guard.ts';
import { deviceTopics } from './topics.ts';
import type { DeviceTopics } from './topics.ts';
import { openSocket, urlCredentials } from './transport.ts';

/** What the client needs from the outbox (monitor/outbox's Outbox satisfies it). */
export interface OutboxPort {
  pending(
    afterSeq: number,
    limit: number,
  ): readonly {
    readonly seq: number;
    readonly class: string;
    readonly topicSuffix: string;
    readonly payload: Uint8Array;
  }[];
  markAttempt(seqs: readonly number[]): void;
  ack(seq: number): void;
  onEnqueue(listener: (seq: number) => void): () => void;
  nextBirthSequence(): number;
}

export type ProtocolLevel = 4 | 5;

export type ClientState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'connecting'; readonly attempt: number; readonly protocol: ProtocolLevel }
  | {
      readonly kind: 'online';
      readonly protocol: ProtocolLevel;
      readonly sessionPresent: boolean;
      readonly bdSeq: number;
    }
  | { readonly kind: 'backoff'; readonly attempt: number; readonly delayMs: number }
  | { readonly kind: 'stopped' };

export interface ConnectedInfo {
  readonly protocol: ProtocolLevel;
  readonly sessionPresent: boolean;
  readonly bdSeq: number;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** An inbound command the transport refused before any handler saw it (for the audit log). */
export interface CommandRejection {
  readonly code: 'COMMAND_TOO_LARGE';
  readonly topic: string;
  /** Payload size the sender declared (the bytes were never buffered). */
  readonly bytes: number;
  readonly limit: number;
}

export interface DeviceClientDeps {
  readonly outbox: OutboxPort;
  /** Inbound command bytes (size-capped); the lifecycle verifies them (COSE_Sign1, role, replay). */
  readonly onCommand?: (payload: Uint8Array, topic: string) => void | Promise<void>;
  /**
   * A command refused by the transport (above `maxCommandBytes`), so that the lifecycle can audit
   * it; awaited before the broker is acknowledged. Failures are reported as COMMAND_HANDLER_FAILED.
   */
  readonly onCommandRejected?: (rejection: CommandRejection) => void | Promise<void>;
  /** Inbound update-transfer messages (manifest and chunks), for monitor/updates' receiver. */
  readonly onUpdate?: (payload: Uint8Array, topic: string) => void | Promise<void>;
  /** After each successful connect (subscriptions in place, birth sent). */
  readonly onConnected?: (info: ConnectedInfo) => void;
  /** After a connection that was online is lost (not called on stop()). */
  readonly onDisconnected?: () => void;
  /** Every failure, typed; the client keeps running (reconnecting) unless stopped. */
  readonly onError?: (error: MqttError) => void;
  readonly onStateChange?: (state: ClientState) => void;
  /** Extra birth fields (model id/version, runtime and firmware versions). */
  readonly birthInfo?: () => Readonly<Record<string, string | number | boolean>>;
  /** Uniform [0, 1) for the reconnect jitter; default seeded from options.jitterSeed + device id. */
  readonly random?: () => number;
  readonly now?: () => number;
  readonly timers?: Timers;
  /**
   * Creates the mqtt.js client, injectable for tests. The default builds the socket itself behind a
   * PacketGuard (inbound size caps applied before mqtt.js buffers anything); an injected one
   * bypasses the guard, and the caps are then checked on the delivered payloads only.
   */
  readonly connect?: (url: string, options: IClientOptions) => MqttClient;
}

export interface ClientCounters {
  readonly connects: number;
  readonly disconnects: number;
  readonly protocolFallbacks: number;
  /** PUBACKs received for outbox entries. */
  readonly acked: number;
  /** PUBLISH packets sent for outbox entries (re-publishes included). */
  readonly published: number;
  readonly inFlight: number;
  readonly commands: number;
  readonly commandsDropped: number;
  readonly updateMessages: number;
  readonly updateMessagesDropped: number;
  /** Publishes the broker refused (MQTT 5 PUBACK reason ≥ 0x80); each is retried. */
  readonly refused: number;
  /** Connections closed by the packet guard (oversized control packet, malformed header). */
  readonly packetsRefused: number;
}

interface Connection {
  readonly client: MqttClient;
  readonly protocol: ProtocolLevel;
  readonly bdSeq: number;
  alive: boolean;
  online: boolean;
  /** Highest sequence handed to mqtt.js on this connection. */
  cursor: number;
  readonly inFlight: Set<number>;
  refusedProtocol: boolean;
  /** The packet guard of this connection (null with an injected `connect`). */
  guard: PacketGuard | null;
  /** Timers of entries the broker refused, each re-sent on this connection after a backoff. */
  readonly retries: Set<unknown>;
}

/** Largest Remaining Length of an inbound packet other than PUBLISH (CONNACK, SUBACK, PUBACK…). */
const MAX_CONTROL_PACKET_BYTES = 64 * 1024;

const PUBLISH_STATE_TIMEOUT_MS = 2000;

export class DeviceClient {
  readonly options: DeviceClientOptions;
  readonly topics: DeviceTopics;
  private readonly deps: DeviceClientDeps;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly timers: Timers;
  private readonly connectFn: ((url: string, options: IClientOptions) => MqttClient) | null;
  private stateValue: ClientState = { kind: 'idle' };
  private conn: Connection | null = null;
  private attempt = 0;
  private forceV4 = false;
  private timer: unknown = null;
  private pumping = false;
  private unsubscribeOutbox: (() => void) | null = null;
  private drainWaiters: (() => void)[] = [];
  private counters = {
    connects: 0,
    disconnects: 0,
    protocolFallbacks: 0,
    acked: 0,
    published: 0,
    commands: 0,
    commandsDropped: 0,
    updateMessages: 0,
    updateMessagesDropped: 0,
    packetsRefused: 0,
    refused: 0,
  };

  /** `options` is validated (see options.ts); throws MqttError('BAD_OPTIONS'). */
  constructor(options: unknown, deps: DeviceClientDeps) {
    this.options = resolveDeviceClientOptions(options);
    this.topics = deviceTopics(this.options.fleet, this.options.device);
    this.deps = deps;
    this.random = deps.random ?? seededRandom(this.options.jitterSeed, this.options.device);
    this.now = deps.now ?? Date.now;
    this.timers = deps.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => {
        clearTimeout(h as NodeJS.Timeout);
      },
    };
    this.connectFn = deps.connect ?? null;
  }

  get state(): ClientState {
    return this.stateValue;
  }

  stats(): ClientCounters {
    return { ...this.counters, inFlight: this.conn?.inFlight.size ?? 0 };
  }

  /** Connects (and keeps reconnecting) until stop(). */
  start(): void {
    if (this.stateValue.kind !== 'idle') return;
    this.unsubscribeOutbox = this.deps.outbox.onEnqueue(() => {
      this.pump();
    });
    this.openConnection();
  }

  /**
   * Stops. Graceful: publishes the retained offline state and sends DISCONNECT (so the broker
   * discards the Will). Not graceful: drops the socket as a crash would (the broker publishes the
   * Will). Entries still in flight stay in the outbox for the next start.
   */
  async stop(options: { graceful?: boolean } = {}): Promise<void> {
    const graceful = options.graceful ?? true;
    if (this.stateValue.kind === 'stopped') return;
    this.setState({ kind: 'stopped' });
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    if (this.conn) this.cancelRetries(this.conn);
    this.unsubscribeOutbox?.();
    this.unsubscribeOutbox = null;
    const conn = this.conn;
    if (conn && graceful && conn.online) {
      // The connection stays live meanwhile, so PUBACKs of entries in flight still delete them.
      const death: StatePayload = { ...this.statePayload(false, conn), at: this.now(), reason: 'shutdown' };
      await withTimeout(
        conn.client.publishAsync(this.topics.state, encodeState(death), { qos: 1, retain: true }),
        PUBLISH_STATE_TIMEOUT_MS,
      ).catch(() => undefined);
      await withTimeout(conn.client.endAsync(false), PUBLISH_STATE_TIMEOUT_MS).catch(() => undefined);
    }
    this.conn = null;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
    if (!conn) return;
    this.cancelRetries(conn);
    conn.alive = false;
    conn.online = false;
    await new Promise<void>((resolve) =>
      conn.client.end(true, {}, () => {
        resolve();
      }),
    );
  }

  /** Resolves once the outbox is empty and nothing is in flight (or the client is stopped). */
  whenDrained(): Promise<void> {
    if (this.isDrained()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private isDrained(): boolean {
    if (this.stateValue.kind === 'stopped') return true;
    const conn = this.conn;
    if (!conn?.online || conn.inFlight.size > 0) return false;
    return this.deps.outbox.pending(0, 1).length === 0;
  }

  private setState(state: ClientState): void {
    this.stateValue = state;
    this.deps.onStateChange?.(state);
  }

  private report(code: MqttErrorCode, message: string, cause?: unknown): void {
    this.deps.onError?.(new MqttError(code, message, cause === undefined ? undefined : { cause }));
  }

  private protocolLevel(): ProtocolLevel {
    switch (this.options.protocol) {
      case '3.1.1':
        return 4;
      case '5':
        return 5;
      case 'auto':
        return this.forceV4 ? 4 : 5;
    }
  }

  private statePayload(online: boolean, conn: Connection): StatePayload {
    const base: { -readonly [K in keyof StatePayload]: StatePayload[K] } = {
      v: 1,
      online,
      fleet: this.options.fleet,
      device: this.options.device,
      bdSeq: conn.bdSeq,
    };
    if (this.options.cohort !== undefined) base.cohort = this.options.cohort;
    return base;
  }

  private openConnection(): void {
    if (this.stateValue.kind === 'stopped') return;
    const protocol = this.protocolLevel();
    let bdSeq: number;
    try {
      bdSeq = this.deps.outbox.nextBirthSequence();
    } catch (error) {
      this.report('OUTBOX_FAILED', 'could not advance the birth sequence', error);
      this.scheduleReconnect(false);
      return;
    }
    this.setState({ kind: 'connecting', attempt: this.attempt, protocol });
    const o = this.options;
    const willPayload = encodeState({
      v: 1,
      online: false,
      fleet: o.fleet,
      device: o.device,
      bdSeq,
      ...(o.cohort === undefined ? {} : { cohort: o.cohort }),
    });
    const mqttOptions: IClientOptions = {
      clientId: o.clientId,
      clean: false,
      protocolVersion: protocol,
      keepalive: o.keepaliveS,
      connectTimeout: o.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      will: { topic: this.topics.state, payload: willPayload, qos: 1, retain: true },
    };
    if (protocol === 5) {
      mqttOptions.properties = {
        sessionExpiryInterval: o.sessionExpiryS,
        receiveMaximum: 64,
        // A DoS guard only: the real caps are checked per message type below, with typed errors.
        maximumPacketSize: Math.max(o.maxCommandBytes, o.maxUpdateMessageBytes) + 64 * 1024,
      };
    }
    if (o.username !== undefined) {
      mqttOptions.username = o.username;
      if (o.password !== undefined) mqttOptions.password = o.password;
    } else {
      const fromUrl = urlCredentials(o.url);
      if (fromUrl.username !== undefined) mqttOptions.username = fromUrl.username;
      if (fromUrl.password !== undefined) mqttOptions.password = fromUrl.password;
    }
    if (o.tls) {
      mqttOptions.rejectUnauthorized = o.tls.rejectUnauthorized;
      if (o.tls.ca !== undefined) mqttOptions.ca = o.tls.ca;
      if (o.tls.cert !== undefined) mqttOptions.cert = o.tls.cert;
      if (o.tls.key !== undefined) mqttOptions.key = o.tls.key;
      if (o.tls.servername !== undefined) mqttOptions.servername = o.tls.servername;
    }
    // mqtt.js calls the stream builder once, inside its constructor (reconnectPeriod is 0).
    const slot: { guard: PacketGuard | null } = { guard: null };
    const client = this.connectFn
      ? this.connectFn(o.url, mqttOptions)
      : new mqtt.MqttClient(() => {
          slot.guard = this.guardSocket(protocol);
          return slot.guard;
        }, mqttOptions);
    const conn: Connection = {
      client,
      protocol,
      bdSeq,
      alive: true,
      online: false,
      cursor: 0,
      inFlight: new Set(),
      retries: new Set(),
      refusedProtocol: false,
      guard: slot.guard,
    };
    this.conn = conn;
    // Acknowledge an inbound QoS 1 message only after its handler finished (a chunk is on disk
    // before the broker forgets it); handlers' failures are reported, never thrown into mqtt.js.
    client.handleMessage = (packet: IPublishPacket, done: (error?: Error) => void) => {
      this.onMessage(conn, packet).then(
        () => {
          done();
        },
        () => {
          done();
        },
      );
    };
    client.on('connect', (connack: IConnackPacket) => {
      if (this.conn !== conn || !conn.alive) return;
      void this.onOnline(conn, connack);
    });
    client.on('error', (error: Error & { code?: unknown }) => {
      if (this.conn !== conn || !conn.alive) return;
      const code = typeof error.code === 'number' ? error.code : undefined;
      // 1 = "unacceptable protocol version" (3.1.1 CONNACK), 132 = "unsupported protocol version" (v5).
      if ((code === 1 || code === 132) && protocol === 5 && o.protocol === 'auto') {
        conn.refusedProtocol = true;
        this.forceV4 = true;
        this.counters.protocolFallbacks += 1;
        this.report('PROTOCOL_FALLBACK', 'the broker refused MQTT 5; retrying with MQTT 3.1.1', error);
        return;
      }
      this.report('CONNECT_FAILED', `${o.url}: ${error.message}`, error);
    });
    client.on('close', () => {
      if (this.conn !== conn || !conn.alive) return;
      this.onClosed(conn);
    });
  }

  /** The socket to the broker behind a PacketGuard applying the inbound caps per topic. */
  private guardSocket(protocol: ProtocolLevel): PacketGuard {
    return new PacketGuard(openSocket(this.options), {
      protocol,
      payloadLimit: (topic) =>
        this.deps.onUpdate && matchesAny(topic, this.topics.updateFilters)
          ? this.options.maxUpdateMessageBytes
          : this.options.maxCommandBytes,
      maxControlPacketBytes: MAX_CONTROL_PACKET_BYTES,
      onViolation: (message) => {
        this.counters.packetsRefused += 1;
        this.report('PACKET_REFUSED', `${this.options.url}: ${message}; closing the connection`);
      },
    });
  }

  private async onOnline(conn: Connection, connack: IConnackPacket): Promise<void> {
    const client = conn.client;
    const sessionPresent = connack.sessionPresent;
    if (!sessionPresent) {
      const filters = [
        ...this.topics.commandFilters,
        ...(this.deps.onUpdate ? this.topics.updateFilters : []),
      ];
      try {
        const granted = await client.subscribeAsync(filters, { qos: 1 });
        const refused = granted.filter((g) => g.qos !== 0 && g.qos !== 1 && g.qos !== 2);
        if (refused.length > 0) {
          throw new Error(`refused: ${refused.map((g) => g.topic).join(', ')}`);
        }
      } catch (error) {
        if (this.conn !== conn || !conn.alive) return;
        this.report('SUBSCRIBE_FAILED', 'the broker refused the command/update subscriptions', error);
        client.end(true);
        return;
      }
    }
    if (this.conn !== conn || !conn.alive) return;
    conn.online = true;
    this.attempt = 0;
    this.counters.connects += 1;
    const birth: StatePayload = {
      ...this.statePayload(true, conn),
      at: this.now(),
      protocol: conn.protocol,
      ...(this.deps.birthInfo ? { info: this.deps.birthInfo() } : {}),
    };
    client.publish(this.topics.state, encodeState(birth), { qos: 1, retain: true }, (error) => {
      if (error && this.conn === conn && conn.alive) {
        this.report('PUBLISH_REJECTED', 'the birth message was refused', error);
      }
    });
    this.setState({ kind: 'online', protocol: conn.protocol, sessionPresent, bdSeq: conn.bdSeq });
    this.deps.onConnected?.({ protocol: conn.protocol, sessionPresent, bdSeq: conn.bdSeq });
    this.pump();
  }

  private onClosed(conn: Connection): void {
    if (this.stateValue.kind === 'stopped') return;
    const wasOnline = conn.online;
    conn.alive = false;
    conn.online = false;
    conn.inFlight.clear();
    this.cancelRetries(conn);
    this.conn = null;
    this.counters.disconnects += 1;
    conn.client.removeAllListeners('connect');
    conn.client.on('error', () => undefined);
    conn.client.end(true);
    if (wasOnline) this.deps.onDisconnected?.();
    this.scheduleReconnect(conn.refusedProtocol);
  }

  private scheduleReconnect(immediate: boolean): void {
    if (this.stateValue.kind === 'stopped') return;
    const delayMs = immediate ? 0 : backoffDelayMs(this.options.reconnect, this.attempt, this.random);
    if (!immediate) this.attempt += 1;
    this.setState({ kind: 'backoff', attempt: this.attempt, delayMs });
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.openConnection();
    }, delayMs);
  }

  /** Publishes held entries in sequence order while fewer than `inflightWindow` are unacknowledged. */
  private pump(): void {
    const conn = this.conn;
    if (!conn?.online || this.pumping || this.stateValue.kind === 'stopped') return;
    // Refill in batches (a quarter of the window at least) rather than one read per PUBACK.
    const window = this.options.inflightWindow;
    if (conn.inFlight.size > window - Math.max(1, Math.floor(window / 4))) return;
    this.pumping = true;
    try {
      while (conn.alive && conn.inFlight.size < this.options.inflightWindow) {
        const batch = this.deps.outbox.pending(conn.cursor, this.options.inflightWindow - conn.inFlight.size);
        if (batch.length === 0) break;
        this.deps.outbox.markAttempt(batch.map((e) => e.seq));
        for (const entry of batch) {
          conn.cursor = entry.seq;
          conn.inFlight.add(entry.seq);
          this.publishEntry(conn, entry);
        }
      }
    } catch (error) {
      this.report('OUTBOX_FAILED', 'reading the outbox failed', error);
    } finally {
      this.pumping = false;
    }
    this.checkDrained();
  }

  private publishEntry(
    conn: Connection,
    entry: {
      readonly seq: number;
      readonly class: string;
      readonly topicSuffix: string;
      readonly payload: Uint8Array;
    },
    refusals = 0,
  ): void {
    const seq = entry.seq;
    const opts: Parameters<MqttClient['publish']>[2] = { qos: 1 };
    if (conn.protocol === 5) {
      // Diagnostics only: the authoritative sequence is inside the (signed) payload.
      opts.properties = { userProperties: { 'vigil-seq': String(seq), 'vigil-class': entry.class } };
    }
    const payload = Buffer.from(entry.payload.buffer, entry.payload.byteOffset, entry.payload.byteLength);
    this.counters.published += 1;
    conn.client.publish(this.topics.publish(entry.topicSuffix), payload, opts, (error) => {
      if (this.conn !== conn || !conn.alive) return;
      conn.inFlight.delete(seq);
      if (error) {
        // An MQTT 5 PUBACK with a failure reason (MQTT 5 §3.4.2.1: quota exceeded, not authorized…).
        // The entry stays in the outbox and is sent again on this connection after a backoff (and
        // from the start on the next one); only the outbox's age and byte bounds ever drop it, and
        // they count what they drop. The rest of the drain goes on meanwhile.
        this.counters.refused += 1;
        this.report(
          'PUBLISH_REJECTED',
          `entry ${seq} was refused by the broker (${String(refusals + 1)} time(s)); retrying`,
          error,
        );
        this.retryRefused(conn, seq, refusals + 1);
        return;
      }
      this.counters.acked += 1;
      try {
        this.deps.outbox.ack(seq);
      } catch (ackError) {
        this.report('OUTBOX_FAILED', `acknowledging entry ${seq} failed`, ackError);
      }
      this.pump();
    });
  }

  /** Re-sends a refused entry on the same connection after the reconnect backoff for `refusals`. */
  private retryRefused(conn: Connection, seq: number, refusals: number): void {
    const delayMs = backoffDelayMs(this.options.reconnect, refusals - 1, this.random);
    const handle = this.timers.setTimeout(() => {
      conn.retries.delete(handle);
      if (this.conn !== conn || !conn.online || this.stateValue.kind === 'stopped') return;
      try {
        const entry = this.deps.outbox.pending(seq - 1, 1)[0];
        if (entry?.seq !== seq) return; // dropped by an outbox bound meanwhile (counted there)
        this.deps.outbox.markAttempt([seq]);
        conn.inFlight.add(seq);
        this.publishEntry(conn, entry, refusals);
      } catch (error) {
        // A timer callback must not throw (e.g. the outbox closed before the client stopped).
        conn.inFlight.delete(seq);
        this.report('OUTBOX_FAILED', `re-sending refused entry ${seq} failed`, error);
      }
    }, delayMs);
    conn.retries.add(handle);
  }

  private cancelRetries(conn: Connection): void {
    for (const handle of conn.retries) this.timers.clearTimeout(handle);
    conn.retries.clear();
  }

  private checkDrained(): void {
    if (this.drainWaiters.length === 0 || !this.isDrained()) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  private async onMessage(conn: Connection, packet: IPublishPacket): Promise<void> {
    if (this.conn !== conn || !conn.alive) return;
    if (packet.topic === STUB_TOPIC) {
      // A publish the guard dropped unread; this stub only gets it acknowledged, in order.
      const dropped = conn.guard?.takeDropped();
      if (dropped) await this.onOversized(dropped.topic, dropped.payloadBytes);
      return;
    }
    const topic = packet.topic;
    const payload =
      typeof packet.payload === 'string'
        ? new Uint8Array(Buffer.from(packet.payload, 'utf8'))
        : new Uint8Array(packet.payload.buffer, packet.payload.byteOffset, packet.payload.byteLength);
    if (matchesAny(topic, this.topics.commandFilters)) {
      // Checked again here for injected transports (the guard has normally dropped these).
      if (payload.length > this.options.maxCommandBytes) {
        await this.onOversized(topic, payload.length);
        return;
      }
      this.counters.commands += 1;
      if (!this.deps.onCommand) {
        this.report('COMMAND_HANDLER_FAILED', `no command handler for ${topic}`);
        return;
      }
      try {
        await this.deps.onCommand(payload, topic);
      } catch (error) {
        this.report('COMMAND_HANDLER_FAILED', `command handler failed on ${topic}`, error);
      }
      return;
    }
    if (this.deps.onUpdate && matchesAny(topic, this.topics.updateFilters)) {
      if (payload.length > this.options.maxUpdateMessageBytes) {
        await this.onOversized(topic, payload.length);
        return;
      }
      this.counters.updateMessages += 1;
      try {
        await this.deps.onUpdate(payload, topic);
      } catch (error) {
        this.report('UPDATE_HANDLER_FAILED', `update handler failed on ${topic}`, error);
      }
    }
  }

  /** An inbound message above its cap: dropped (never handed over), reported, and audited. */
  private async onOversized(topic: string, bytes: number): Promise<void> {
    if (matchesAny(topic, this.topics.commandFilters)) {
      const limit = this.options.maxCommandBytes;
      this.counters.commandsDropped += 1;
      this.report('COMMAND_TOO_LARGE', `command on ${topic} of ${bytes} bytes exceeds ${limit}`);
      try {
        await this.deps.onCommandRejected?.({ code: 'COMMAND_TOO_LARGE', topic, bytes, limit });
      } catch (error) {
        this.report('COMMAND_HANDLER_FAILED', `command rejection handler failed on ${topic}`, error);
      }
      return;
    }
    if (this.deps.onUpdate && matchesAny(topic, this.topics.updateFilters)) {
      const limit = this.options.maxUpdateMessageBytes;
      this.counters.updateMessagesDropped += 1;
      this.report('UPDATE_TOO_LARGE', `update message on ${topic} of ${bytes} bytes exceeds ${limit}`);
    }
    // Anything else is a topic the client did not subscribe to: ignored, like its small messages.
  }
}

/** MQTT filter matching for the `prefix/#` filters the client subscribes to. */
function matchesAny(topic: string, filters: readonly string[]): boolean {
  return filters.some(
    (f) => f.endsWith('/#') && (topic.startsWith(f.slice(0, -1)) || topic === f.slice(0, -2)),
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let handle: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    handle = setTimeout(() => {
      reject(new Error(`timed out after ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(handle);
  });
}
