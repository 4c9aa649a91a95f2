// One client connection: framing, strict decoding, credits, and the bounded outbound path
// (docs/firmware-bridge.md, "Flow control"). Writes never block the event loop: when the socket
// asks us to wait, control frames queue here (bounded: reading pauses beyond the bound), results wait
// in the device's session FIFO, and credit is held back so that a client that does not read stops
// being allowed to send. A client that stops reading entirely is disconnected after the stall timeout.
import {
  BridgeError,
  DEFAULT_CBOR_LIMITS,
  decodeCbor,
  encodeFrame,
  FrameReader,
  parseClientMessage,
  readRequestId,
  tryDecodeSamples,
  type CborLimits,
  type CborValue,
  type ClientMessage,
  type ServerMessage,
  type WireErrorCode,
} from '../protocol/index.ts';
import type { BridgeLimits } from './limits.ts';
import { outgoingMessage } from './outgoing.ts';
import type { Session, SessionPeer } from './session.ts';
import type { BridgeClock, BridgeCounters, BridgeLogger, Wire } from './types.ts';

/** What a connection needs from the server core. */
export interface ConnectionHost {
  readonly limits: BridgeLimits;
  readonly clock: BridgeClock;
  readonly logger: BridgeLogger;
  readonly counters: BridgeCounters;
  /** A parsed, credit-checked message from a connection. */
  dispatch(connection: Connection, message: ClientMessage): void;
  /** The connection is gone; `session` (if it had one) must be detached. */
  connectionClosed(connection: Connection, session: Session | null): void;
}

type ConnectionState =
  | { readonly kind: 'awaiting-hello' }
  | { readonly kind: 'ready'; readonly session: Session; readonly version: number }
  | { readonly kind: 'closing' }
  | { readonly kind: 'closed' };

let nextConnectionId = 1;

export class Connection implements SessionPeer {
  readonly id = nextConnectionId++;
  private state: ConnectionState = { kind: 'awaiting-hello' };
  private readonly reader: FrameReader;
  private readonly cborLimits: CborLimits;
  private readonly fastLimits: { maxChannels: number; maxSamplesPerFrame: number; maxBytesLength: number };
  private writable = true;
  private paused = false;
  private readonly control: Buffer[] = [];
  /** Samples frames the client may still send, as the server counts them. */
  private creditBalance = 0;
  /** Frames consumed since the last grant. */
  private creditOwed = 0;
  private readonly grantBatch: number;
  private noCredit = { count: 0, lastId: -1 };
  private helloTimer: unknown = null;
  private stallTimer: unknown = null;
  private graceTimer: unknown = null;
  private inFlightTimer: unknown = null;

  constructor(
    readonly wire: Wire,
    private readonly host: ConnectionHost,
  ) {
    const limits = host.limits;
    this.reader = new FrameReader(limits.maxFrameBytes, limits.maxSkipBytes);
    this.cborLimits = {
      ...DEFAULT_CBOR_LIMITS,
      maxArrayItems: Math.max(DEFAULT_CBOR_LIMITS.maxArrayItems, limits.maxChannels),
      maxBytesLength: limits.maxFrameBytes,
    };
    this.fastLimits = {
      maxChannels: limits.maxChannels,
      maxSamplesPerFrame: limits.maxSamplesPerFrame,
      maxBytesLength: this.cborLimits.maxBytesLength,
    };
    this.grantBatch = Math.max(1, Math.floor(limits.credits / 4));
    this.helloTimer = host.clock.setTimer(() => {
      this.helloTimer = null;
      if (this.state.kind === 'awaiting-hello') {
        this.fail('HELLO_TIMEOUT', `no hello within ${limits.helloTimeoutMs} ms`);
      }
    }, limits.helloTimeoutMs);
  }

  get session(): Session | null {
    return this.state.kind === 'ready' ? this.state.session : null;
  }

  get isOpen(): boolean {
    return this.state.kind === 'awaiting-hello' || this.state.kind === 'ready';
  }

  /** Control frames waiting for the socket (for tests and status). */
  get queuedControlFrames(): number {
    return this.control.length;
  }

  get credit(): { balance: number; owed: number } {
    return { balance: this.creditBalance, owed: this.creditOwed };
  }

  // ------------------------------------------------------------------ input

  receive(chunk: Uint8Array): void {
    if (!this.isOpen) return;
    this.host.counters.bytesIn += chunk.length;
    this.reader.push(chunk, this.frameHandler);
  }

  private readonly frameHandler = {
    frame: (payload: Uint8Array) => {
      this.onFrame(payload);
    },
    oversized: (length: number) => {
      this.host.counters.framesIn += 1;
      this.sendError(
        'FRAME_TOO_LARGE',
        `frame of ${length} bytes exceeds ${this.host.limits.maxFrameBytes}; skipped`,
      );
    },
    corrupt: (length: number) => {
      this.fail('FRAMING', `length field ${length} is beyond any frame this server reads`);
    },
  };

  private onFrame(payload: Uint8Array): void {
    if (!this.isOpen) return;
    this.host.counters.framesIn += 1;
    let value: CborValue | undefined;
    let message: ClientMessage | null;
    try {
      // The samples fast path gives up (null) on anything it does not fully accept; the strict
      // general path then decides, and reports the precise error.
      message = tryDecodeSamples(payload, this.fastLimits);
      if (message === null) {
        value = decodeCbor(payload, this.cborLimits);
        message = parseClientMessage(value, this.host.limits);
      } else {
        this.host.counters.fastPathFrames += 1;
      }
    } catch (error) {
      if (error instanceof BridgeError) {
        const re = value === undefined ? undefined : readRequestId(value);
        this.sendError(error.code as WireErrorCode, error.message, re);
        return;
      }
      throw error;
    }
    try {
      this.route(message);
    } catch (error) {
      this.host.counters.internalErrors += 1;
      this.host.logger.error(
        { event: 'bridge.internal', connection: this.id, type: message.type, err: describe(error) },
        'bridge failed to handle a frame',
      );
      this.sendError('INTERNAL', 'the server failed to handle this frame', message.id);
    }
    this.flush();
  }

  private route(message: ClientMessage): void {
    switch (message.type) {
      case 'hello':
        if (this.state.kind === 'ready') {
          this.sendError('HELLO_REPEATED', 'hello was already accepted on this connection', message.id);
          return;
        }
        this.host.dispatch(this, message);
        return;
      case 'ping':
        this.sendControl({ type: 'pong', re: message.id });
        return;
      case 'samples':
        if (this.state.kind !== 'ready') break;
        if (this.creditBalance <= 0) {
          this.state.session.counters.creditExceeded += 1;
          this.host.counters.creditExceeded += 1;
          this.noCredit.count += 1;
          this.noCredit.lastId = message.id;
          return;
        }
        this.creditBalance -= 1;
        this.creditOwed += 1;
        this.host.dispatch(this, message);
        return;
      case 'open':
      case 'close':
      case 'label':
      case 'status':
        if (this.state.kind !== 'ready') break;
        this.host.dispatch(this, message);
        return;
    }
    this.sendError('HELLO_REQUIRED', `${message.type} before hello`, message.id);
  }

  // ------------------------------------------------------------------ session

  /** Called by the core once hello is accepted: sends hello-ack (and `missed` on a resume). */
  becomeReady(session: Session, version: number, ack: ServerMessage): void {
    if (this.helloTimer !== null) {
      this.host.clock.clearTimer(this.helloTimer);
      this.helloTimer = null;
    }
    this.state = { kind: 'ready', session, version };
    session.peer = this;
    this.creditBalance = this.host.limits.credits;
    this.creditOwed = 0;
    this.sendControl(ack);
    if (!session.detachedLoss.isEmpty) {
      const { streams } = session.detachedLoss.take();
      this.sendControl({ type: 'missed', reason: 'detached', streams });
    }
  }

  itemsQueued(): void {
    this.flush();
  }

  superseded(): void {
    this.fail('SESSION_TAKEN_OVER', 'the device connected again on another connection');
  }

  // ------------------------------------------------------------------ output

  sendError(code: WireErrorCode, text: string, re?: number, stream?: string): void {
    const message = safeText(text);
    this.host.counters.framesRejected += 1;
    this.host.counters.errorsByCode[code] = (this.host.counters.errorsByCode[code] ?? 0) + 1;
    this.host.logger.debug({ event: 'bridge.error', connection: this.id, code, re }, message);
    this.sendControl({
      type: 'error',
      ...(re !== undefined ? { re } : {}),
      code,
      message,
      ...(stream !== undefined ? { stream } : {}),
      fatal: false,
    });
  }

  sendControl(message: ServerMessage): void {
    if (!this.isOpen) return;
    const frame = encodeFrame(message, this.host.limits.maxFrameBytes);
    if (this.writable && this.control.length === 0) {
      this.write(frame);
      return;
    }
    this.control.push(frame);
    if (this.control.length > this.host.limits.maxControlQueueFrames && !this.paused) {
      // The client sends requests but does not read the answers: stop reading it (only it).
      this.paused = true;
      this.host.counters.readPauses += 1;
      this.wire.pause();
    }
  }

  private write(frame: Buffer): void {
    this.host.counters.framesOut += 1;
    this.host.counters.bytesOut += frame.length;
    if (!this.wire.write(frame)) {
      this.writable = false;
      this.armStallTimer();
    }
  }

  /** A method, not the field: writes inside a loop change it. */
  private canWrite(): boolean {
    return this.writable;
  }

  /** The socket accepts writes again. */
  drained(): void {
    if (!this.isOpen) return;
    this.writable = true;
    if (this.stallTimer !== null) {
      this.host.clock.clearTimer(this.stallTimer);
      this.stallTimer = null;
    }
    this.flush();
  }

  /** Writes what waits, in order: control frames, overload notices, results; then grants credit. */
  flush(): void {
    if (!this.isOpen) return;
    while (this.writable && this.control.length > 0) this.write(this.control.shift() as Buffer);
    if (!this.writable) return;
    if (this.paused && this.control.length === 0) {
      this.paused = false;
      this.wire.resume();
    }
    if (this.state.kind !== 'ready') return;
    const session = this.state.session;
    if (this.noCredit.count > 0) {
      this.write(
        encodeFrame(
          {
            type: 'overload',
            reason: 'no-credit',
            count: this.noCredit.count,
            re: this.noCredit.lastId,
            totals: totals(session),
          },
          this.host.limits.maxFrameBytes,
        ),
      );
      this.noCredit = { count: 0, lastId: -1 };
    }
    if (this.canWrite() && !session.liveLoss.isEmpty) {
      const { streams, count } = session.liveLoss.take();
      this.write(
        encodeFrame(
          { type: 'overload', reason: 'results-dropped', count, streams, totals: totals(session) },
          this.host.limits.maxFrameBytes,
        ),
      );
    }
    while (this.canWrite()) {
      const item = session.shift();
      if (!item) break;
      let frame: Buffer;
      try {
        frame = encodeFrame(outgoingMessage(item), this.host.limits.maxFrameBytes);
      } catch (error) {
        this.host.counters.internalErrors += 1;
        this.host.logger.error({ event: 'bridge.encode', err: describe(error) }, 'result not encodable');
        continue;
      }
      if (item.kind === 'result') {
        session.counters.resultsDelivered += 1;
        this.host.counters.resultsDelivered += 1;
      } else {
        session.counters.alertsDelivered += 1;
        this.host.counters.alertsDelivered += 1;
      }
      this.write(frame);
    }
    this.grantCredit(session);
  }

  private grantCredit(session: Session): void {
    if (this.creditOwed < this.grantBatch || !this.writable || this.control.length > 0) return;
    if (session.queued > this.host.limits.creditHoldResults) {
      this.host.counters.creditHolds += 1;
      return;
    }
    if (session.windowsInFlight > this.host.limits.maxWindowsInFlight) {
      const idleMs = this.host.clock.monoMs() - session.lastProgressMonoMs;
      if (idleMs < this.host.limits.inFlightStaleMs) {
        this.host.counters.creditHolds += 1;
        this.armInFlightTimer(this.host.limits.inFlightStaleMs - idleMs);
        return;
      }
      // No result for a long time: the runtime lost those windows; stop holding for them.
      session.windowsInFlight = 0;
    }
    const grant = this.creditOwed;
    this.creditOwed = 0;
    this.creditBalance += grant;
    this.write(encodeFrame({ type: 'credit', grant }, this.host.limits.maxFrameBytes));
  }

  private armInFlightTimer(ms: number): void {
    if (this.inFlightTimer !== null) return;
    this.inFlightTimer = this.host.clock.setTimer(
      () => {
        this.inFlightTimer = null;
        this.flush();
      },
      Math.max(1, Math.ceil(ms)),
    );
  }

  private armStallTimer(): void {
    if (this.stallTimer !== null) return;
    this.stallTimer = this.host.clock.setTimer(() => {
      this.stallTimer = null;
      if (!this.writable) {
        this.fail('SLOW_CONSUMER', `nothing read for ${this.host.limits.stallTimeoutMs} ms`, undefined, true);
      }
    }, this.host.limits.stallTimeoutMs);
  }

  // ------------------------------------------------------------------ closing

  /**
   * A fatal error: the frame is written (best effort), the connection is flushed and closed. The
   * session (if any) is detached at once, so its results queue for a resume.
   */
  fail(code: WireErrorCode, text: string, re?: number, destroyNow = false): void {
    if (!this.isOpen) return;
    const message = safeText(text);
    this.host.counters.fatalCloses += 1;
    this.host.counters.errorsByCode[code] = (this.host.counters.errorsByCode[code] ?? 0) + 1;
    this.host.logger.info(
      { event: 'bridge.fatal', connection: this.id, code, transport: this.wire.label },
      message,
    );
    const frames = this.control.splice(0);
    frames.push(
      encodeFrame(
        { type: 'error', ...(re !== undefined ? { re } : {}), code, message, fatal: true },
        this.host.limits.maxFrameBytes,
      ),
    );
    this.release('closing');
    for (const frame of frames) {
      this.host.counters.framesOut += 1;
      this.host.counters.bytesOut += frame.length;
      this.wire.write(frame);
    }
    if (destroyNow) {
      this.wire.destroy();
      return;
    }
    this.wire.end();
    this.graceTimer = this.host.clock.setTimer(() => {
      this.graceTimer = null;
      this.wire.destroy();
    }, this.host.limits.closeGraceMs);
  }

  /** The transport reports the connection closed (peer hung up, error, or after `fail`). */
  ended(): void {
    if (this.graceTimer !== null) {
      this.host.clock.clearTimer(this.graceTimer);
      this.graceTimer = null;
    }
    if (this.state.kind === 'closed') return;
    this.release('closed');
  }

  private release(next: 'closing' | 'closed'): void {
    const wasOpen = this.isOpen;
    const session = this.session;
    this.reader.stop();
    for (const timer of [this.helloTimer, this.stallTimer, this.inFlightTimer]) {
      if (timer !== null) this.host.clock.clearTimer(timer);
    }
    this.helloTimer = null;
    this.stallTimer = null;
    this.inFlightTimer = null;
    this.control.length = 0;
    this.state = { kind: next };
    if (wasOpen) this.host.connectionClosed(this, session);
  }
}

function totals(session: Session): { framesRejected: number; resultsDropped: number; alertsDropped: number } {
  return {
    framesRejected: session.counters.creditExceeded,
    resultsDropped: session.counters.resultsDropped,
    alertsDropped: session.counters.alertsDropped,
  };
}

/** Error messages may quote client input: printable ASCII only, and short (docs: at most 256 characters). */
export const MAX_ERROR_MESSAGE = 256;

function safeText(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length <= MAX_ERROR_MESSAGE ? clean : `${clean.slice(0, MAX_ERROR_MESSAGE - 3)}...`;
}

export function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
