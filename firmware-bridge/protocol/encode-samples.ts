// The samples frame, encoded by hand: it is the one message sent thousands of times a second, and a
// general encoder (cbor-x) plus a copy behind a length prefix cost as much as the server's whole
// decode. Produces the CBOR the document specifies (same keys, tags 85/77, byte-string flags), with
// the length prefix written in place.
import { BridgeError } from './errors.ts';
import { FRAME_HEADER_BYTES } from './framing.ts';
import type { SamplesMessage } from './messages.ts';

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const ASCII_KEYS = {
  type: Buffer.from('64747970656773616d706c6573', 'hex'), // "type": "samples"
};

function headSize(arg: number): number {
  if (arg < 24) return 1;
  if (arg <= 0xff) return 2;
  if (arg <= 0xffff) return 3;
  if (arg <= 0xffffffff) return 5;
  return 9;
}

function numberSize(value: number): number {
  return Number.isSafeInteger(value) && value >= 0 ? headSize(value) : 9;
}

function textSize(text: string): number {
  return headSize(text.length) + text.length;
}

class Writer {
  private pos: number;
  private readonly view: DataView;

  constructor(readonly buffer: Buffer) {
    this.pos = FRAME_HEADER_BYTES;
    this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  head(major: number, arg: number): void {
    const m = major << 5;
    if (arg < 24) {
      this.buffer[this.pos++] = m | arg;
    } else if (arg <= 0xff) {
      this.buffer[this.pos++] = m | 24;
      this.buffer[this.pos++] = arg;
    } else if (arg <= 0xffff) {
      this.buffer[this.pos++] = m | 25;
      this.view.setUint16(this.pos, arg);
      this.pos += 2;
    } else if (arg <= 0xffffffff) {
      this.buffer[this.pos++] = m | 26;
      this.view.setUint32(this.pos, arg);
      this.pos += 4;
    } else {
      this.buffer[this.pos++] = m | 27;
      this.view.setUint32(this.pos, Math.floor(arg / 0x1_0000_0000));
      this.view.setUint32(this.pos + 4, arg >>> 0);
      this.pos += 8;
    }
  }

  /** Keys and ids are ASCII (ids are checked by the server; keys are ours). */
  text(text: string): void {
    this.head(3, text.length);
    for (let i = 0; i < text.length; i += 1) this.buffer[this.pos++] = text.charCodeAt(i);
  }

  number(value: number): void {
    if (Number.isSafeInteger(value) && value >= 0) {
      this.head(0, value);
      return;
    }
    this.buffer[this.pos++] = 0xfb;
    this.view.setFloat64(this.pos, value);
    this.pos += 8;
  }

  raw(bytes: Uint8Array): void {
    this.buffer.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  typedArray(tag: 77 | 85, array: Float32Array | Int16Array): void {
    this.head(6, tag);
    this.head(2, array.byteLength);
    if (LITTLE_ENDIAN_HOST) {
      this.raw(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
      return;
    }
    for (const value of array) {
      if (array instanceof Float32Array) this.view.setFloat32(this.pos, value, true);
      else this.view.setInt16(this.pos, value, true);
      this.pos += array.BYTES_PER_ELEMENT;
    }
  }
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** A samples frame (length prefix + CBOR map). Throws FRAME_TOO_LARGE above `maxFrameBytes`. */
export function encodeSamplesFrame(message: SamplesMessage, maxFrameBytes: number): Buffer {
  if (!isAscii(message.stream)) throw new BridgeError('BAD_FIELD', 'stream ids are ASCII');
  let entries = 6;
  let size = ASCII_KEYS.type.length;
  size += textSize('id') + numberSize(message.id);
  size += textSize('stream') + textSize(message.stream);
  size += textSize('counter') + numberSize(message.counter);
  size += textSize('timestampMs') + numberSize(message.timestampMs);
  size += textSize('data') + headSize(message.data.length);
  for (const channel of message.data)
    size +=
      headSize(channel instanceof Float32Array ? 85 : 77) + headSize(channel.byteLength) + channel.byteLength;
  if (message.rateHz !== undefined) {
    entries += 1;
    size += textSize('rateHz') + numberSize(message.rateHz);
  }
  if (message.scale !== undefined) {
    entries += 1;
    size += textSize('scale') + headSize(message.scale.length);
    for (const s of message.scale) size += numberSize(s);
  }
  if (message.flags !== undefined) {
    entries += 1;
    size += textSize('flags') + headSize(message.flags.length) + message.flags.length;
  }
  size += headSize(entries);
  if (size > maxFrameBytes) {
    throw new BridgeError('FRAME_TOO_LARGE', `a samples frame of ${size} bytes exceeds ${maxFrameBytes}`);
  }
  const w = new Writer(Buffer.allocUnsafe(FRAME_HEADER_BYTES + size));
  w.buffer.writeUInt32BE(size, 0);
  w.head(5, entries);
  w.raw(ASCII_KEYS.type);
  w.text('id');
  w.number(message.id);
  w.text('stream');
  w.text(message.stream);
  w.text('counter');
  w.number(message.counter);
  w.text('timestampMs');
  w.number(message.timestampMs);
  if (message.rateHz !== undefined) {
    w.text('rateHz');
    w.number(message.rateHz);
  }
  w.text('data');
  w.head(4, message.data.length);
  for (const channel of message.data) w.typedArray(channel instanceof Float32Array ? 85 : 77, channel);
  if (message.scale !== undefined) {
    w.text('scale');
    w.head(4, message.scale.length);
    for (const s of message.scale) w.number(s);
  }
  if (message.flags !== undefined) {
    w.text('flags');
    w.head(2, message.flags.length);
    w.raw(message.flags);
  }
  if (w.offset !== w.buffer.length) throw new BridgeError('PROTOCOL', 'samples frame size mismatch');
  return w.buffer;
}
