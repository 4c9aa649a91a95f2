// Inbound size caps at the socket (safety review finding "MQTT caps applied after the packet is in
// memory", repro r7): the PacketGuard reads packet headers only, drops an oversized PUBLISH unread
// (mqtt.js gets a stub to acknowledge), and closes the connection on packets it cannot bound. The
// DeviceClient test runs against a scripted raw MQTT 3.1.1 broker that announces a 64 MiB command and
// checks that the device refuses it (and has it acknowledged) before the packet is complete.
import net from 'node:net';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceClient } from '../../../../monitor/mqtt/index.ts';
import type { CommandRejection, MqttError } from '../../../../monitor/mqtt/index.ts';
import { PacketGuard, STUB_TOPIC } from '../../../../monitor/mqtt/packet-guard.ts';
import { Outbox } from '../../../../monitor/outbox/index.ts';

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    out.push(byte);
  } while (v > 0);
  return Buffer.from(out);
}

/** A PUBLISH packet's bytes; `declared` overrides the payload length written in the header. */
function publish(
  topic: string,
  payload: Buffer,
  opts: { qos?: 0 | 1; id?: number; v5Properties?: Buffer; declared?: number } = {},
): Buffer {
  const qos = opts.qos ?? 1;
  const t = Buffer.from(topic, 'utf8');
  const head: Buffer[] = [Buffer.from([t.length >> 8, t.length & 0xff]), t];
  if (qos > 0) head.push(Buffer.from([(opts.id ?? 1) >> 8, (opts.id ?? 1) & 0xff]));
  if (opts.v5Properties) head.push(varint(opts.v5Properties.length), opts.v5Properties);
  const variable = Buffer.concat(head);
  const remaining = variable.length + (opts.declared ?? payload.length);
  return Buffer.concat([Buffer.from([0x30 | (qos << 1)]), varint(remaining), variable, payload]);
}

function stub(id: number | null, v5: boolean): Buffer {
  const t = Buffer.from(STUB_TOPIC);
  const parts: Buffer[] = [Buffer.from([t.length >> 8, t.length & 0xff]), t];
  if (id !== null) parts.push(Buffer.from([id >> 8, id & 0xff]));
  if (v5) parts.push(Buffer.from([0]));
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([id === null ? 0x30 : 0x32, body.length]), body]);
}

const CMD = 'vigil/v1/f/d/cmd/promote';
const UPDATE = 'vigil/v1/f/d/update/transfer/ab/chunk/0';

function guarded(protocol: 4 | 5 = 4) {
  const socket = new PassThrough();
  const violations: string[] = [];
  const guard = new PacketGuard(socket, {
    protocol,
    payloadLimit: (topic) => (topic.includes('/update/') ? 1000 : 100),
    maxControlPacketBytes: 64,
    onViolation: (m) => violations.push(m),
  });
  const out: Buffer[] = [];
  guard.on('data', (b: Buffer) => out.push(b));
  guard.on('error', () => undefined);
  /** Sends `bytes` to the guard in pieces of `step` bytes. */
  const feed = (bytes: Buffer, step: number) => {
    for (let at = 0; at < bytes.length; at += step) socket.write(bytes.subarray(at, at + step));
  };
  const received = async () => {
    await new Promise((r) => setImmediate(r));
    return Buffer.concat(out);
  };
  return { guard, feed, received, violations };
}

describe('PacketGuard', () => {
  for (const step of [1, 3, 7, 4096]) {
    it(`passes packets within the caps unchanged and drops larger ones unread (${step}-byte reads)`, async () => {
      const g = guarded();
      const connack = Buffer.from([0x20, 0x02, 0x00, 0x00]);
      const small = publish(CMD, Buffer.alloc(100, 1), { id: 7 });
      const big = publish(UPDATE, Buffer.alloc(5000, 2), { id: 8 });
      const bigCommand = publish(CMD, Buffer.alloc(101, 3), { qos: 0 });
      const after = publish(UPDATE, Buffer.alloc(1000, 4), { id: 9 });
      g.feed(Buffer.concat([connack, small, big, bigCommand, after]), step);
      expect(await g.received()).toEqual(
        Buffer.concat([connack, small, stub(8, false), stub(null, false), after]),
      );
      expect(g.guard.takeDropped()).toEqual({ topic: UPDATE, payloadBytes: 5000, limit: 1000 });
      expect(g.guard.takeDropped()).toEqual({ topic: CMD, payloadBytes: 101, limit: 100 });
      expect(g.guard.takeDropped()).toBeUndefined();
      expect(g.violations).toEqual([]);
    });
  }

  it('decides from the header: a 200 MB PUBLISH of which 1 MB arrived is already dropped', async () => {
    const g = guarded();
    const header = publish(UPDATE, Buffer.alloc(0), { id: 300, declared: 200 * 1024 * 1024 });
    g.feed(Buffer.concat([header, Buffer.alloc(1024 * 1024, 5)]), 64 * 1024);
    const out = await g.received();
    expect(out).toEqual(stub(300, false));
    expect(g.guard.takeDropped()).toMatchObject({ payloadBytes: 200 * 1024 * 1024 });
  });

  it('MQTT 5: counts the properties out of the payload, and the stub carries no properties', async () => {
    const g = guarded(5);
    const props = Buffer.from([0x01, 0x01]); // payload format indicator = 1
    const fits = publish(CMD, Buffer.alloc(100, 1), { id: 1, v5Properties: props });
    const big = publish(CMD, Buffer.alloc(101, 1), { id: 2, v5Properties: props });
    g.feed(Buffer.concat([fits, big]), 5);
    expect(await g.received()).toEqual(Buffer.concat([fits, stub(2, true)]));
  });

  it('closes the connection on a control packet above its cap, a malformed length, or QoS 3', async () => {
    const suback = Buffer.concat([Buffer.from([0x90]), varint(65), Buffer.alloc(65)]);
    const badLength = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
    const qos3 = Buffer.concat([Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01])]);
    for (const bytes of [suback, badLength, qos3]) {
      const g = guarded();
      g.feed(bytes, 2);
      expect(await g.received()).toEqual(Buffer.alloc(0));
      expect(g.violations).toHaveLength(1);
      expect(g.guard.destroyed).toBe(true);
    }
  });
});

/** A scripted MQTT 3.1.1 broker on loopback: answers CONNECT, SUBSCRIBE and PUBLISH, records PUBACKs. */
async function rawBroker() {
  const pubacks: number[] = [];
  let socket: net.Socket | null = null;
  const server = net.createServer((s) => {
    socket = s;
    let buffer = Buffer.alloc(0);
    s.on('error', () => undefined);
    s.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (buffer.length < 2) return;
        let remaining = 0;
        let i = 1;
        let mult = 1;
        for (;;) {
          if (i >= buffer.length) return;
          const byte = buffer[i] as number;
          remaining += (byte & 0x7f) * mult;
          mult *= 128;
          i += 1;
          if (!(byte & 0x80)) break;
        }
        if (buffer.length < i + remaining) return;
        const first = buffer[0] as number;
        const type = first >> 4;
        const body = buffer.subarray(i, i + remaining);
        buffer = buffer.subarray(i + remaining);
        if (type === 1) s.write(Buffer.from([0x20, 0x02, 0x00, 0x00])); // CONNACK, no session
        if (type === 8) {
          // SUBACK: grant QoS 1 to every filter (each: length, name, options byte)
          const granted: number[] = [];
          for (let at = 2; at < body.length;) {
            at += 2 + body.readUInt16BE(at) + 1;
            granted.push(1);
          }
          s.write(Buffer.from([0x90, 2 + granted.length, body[0] as number, body[1] as number, ...granted]));
        }
        if (type === 3 && ((first >> 1) & 3) > 0) {
          const at = 2 + body.readUInt16BE(0); // PUBACK the device's own QoS 1 publishes (birth)
          s.write(Buffer.from([0x40, 0x02, body[at] as number, body[at + 1] as number]));
        }
        if (type === 4) pubacks.push(body.readUInt16BE(0));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    pubacks,
    send: (bytes: Buffer) =>
      new Promise<void>((resolve) => {
        (socket as net.Socket).write(bytes, () => {
          resolve();
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        socket?.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const until = async (predicate: () => boolean, ms = 5000) => {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
};

describe('PacketGuard (property)', () => {
  /** One inbound packet and what mqtt.js must receive for it (the packet itself, or a stub). */
  const packet = (v5: boolean) =>
    fc.oneof(
      // Control packets within the cap (PUBACK, SUBACK, …).
      fc
        .record({ type: fc.integer({ min: 4, max: 13 }), body: fc.uint8Array({ maxLength: 64 }) })
        .map(({ type, body }) => {
          const bytes = Buffer.concat([Buffer.from([type << 4]), varint(body.length), Buffer.from(body)]);
          return { bytes, expected: bytes };
        }),
      fc
        .record({
          qos: fc.constantFrom(0, 1),
          id: fc.integer({ min: 1, max: 0xffff }),
          update: fc.boolean(),
          topicExtra: fc.nat({ max: 300 }),
          properties: v5 ? fc.uint8Array({ maxLength: 200 }) : fc.constant(new Uint8Array(0)),
          payload: fc.nat({ max: 1500 }),
        })
        .map(({ qos, id, update, topicExtra, properties, payload }) => {
          const topic = (update ? UPDATE : CMD) + 'x'.repeat(topicExtra);
          const bytes = publish(topic, Buffer.alloc(payload, 5), {
            qos: qos,
            id,
            ...(v5 ? { v5Properties: Buffer.from(properties) } : {}),
          });
          const fits = payload <= (update ? 1000 : 100);
          return { bytes, expected: fits ? bytes : stub(qos === 0 ? null : id, v5) };
        }),
    );

  for (const protocol of [4, 5] as const) {
    it(`MQTT ${protocol === 5 ? '5' : '3.1.1'}: any packet sequence, split at any offsets, comes out as the packets within the caps and a stub for each dropped one`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(packet(protocol === 5), { minLength: 1, maxLength: 8 }),
          fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 16 }),
          async (packets, cuts) => {
            const g = guarded(protocol);
            const input = Buffer.concat(packets.map((p) => p.bytes));
            let at = 0;
            for (let i = 0; at < input.length; i += 1) {
              const n = cuts[i % cuts.length] as number;
              g.feed(input.subarray(at, at + n), n);
              at += n;
            }
            expect(await g.received()).toEqual(Buffer.concat(packets.map((p) => p.expected)));
            expect(g.violations).toEqual([]);
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  it('closes the connection on an oversized QoS 2 PUBLISH (mqtt.js would hand its stub over out of order)', async () => {
    const g = guarded();
    const qos2 = Buffer.from(publish(CMD, Buffer.alloc(500, 1), { id: 3 }));
    qos2[0] = 0x34; // QoS 2
    g.feed(qos2, 64);
    await g.received();
    expect(g.violations).toEqual([expect.stringContaining('QoS 2')]);
  });

  it('reads a maximum-length topic one byte at a time in linear time, and queues only a short copy of it', async () => {
    const g = guarded();
    const topic = CMD + 'y'.repeat(0xffff - CMD.length);
    const big = publish(topic, Buffer.alloc(101, 1), { id: 4 });
    const started = performance.now();
    g.feed(big, 1);
    expect(await g.received()).toEqual(stub(4, false));
    expect(performance.now() - started).toBeLessThan(5000); // quadratic re-concatenation took ≈ 23 s
    expect(g.guard.takeDropped()?.topic).toHaveLength(256);
  });
});

describe('DeviceClient inbound caps on an MQTT 3.1.1 link', () => {
  it('refuses a 64 MiB command from its header, has it acknowledged, audits it, and keeps the link', async () => {
    const broker = await rawBroker();
    cleanups.push(() => broker.close());
    const errors: MqttError[] = [];
    const rejected: CommandRejection[] = [];
    const commands: string[] = [];
    const outbox = Outbox.open(':memory:');
    cleanups.push(() => {
      outbox.close();
    });
    const client = new DeviceClient(
      { url: broker.url, fleet: 'f', device: 'd', protocol: '3.1.1', maxCommandBytes: 4096 },
      {
        outbox,
        onError: (e) => errors.push(e),
        onCommand: (payload) => {
          commands.push(Buffer.from(payload).toString('utf8'));
        },
        onCommandRejected: (r) => {
          rejected.push(r);
        },
      },
    );
    client.start();
    cleanups.push(() => client.stop({ graceful: false }));
    await until(() => client.state.kind === 'online');
    const declared = 64 * 1024 * 1024;
    await broker.send(publish(CMD, Buffer.alloc(0), { id: 42, declared }));
    await broker.send(Buffer.alloc(1024 * 1024, 9)); // 1 MiB of 64 arrived: the device already knows
    await until(() => broker.pubacks.includes(42));
    expect(errors.map((e) => e.code)).toEqual(['COMMAND_TOO_LARGE']);
    expect(rejected).toEqual([{ code: 'COMMAND_TOO_LARGE', topic: CMD, bytes: declared, limit: 4096 }]);
    // The rest streams through unread; the next command on the same connection is handled.
    const chunk = Buffer.alloc(1024 * 1024, 9);
    for (let sent = 1; sent < 64; sent += 1) await broker.send(chunk);
    await broker.send(publish(CMD, Buffer.from('next', 'utf8'), { id: 43 }));
    await until(() => commands.length === 1 && broker.pubacks.includes(43));
    expect(commands).toEqual(['next']);
    expect(client.stats()).toMatchObject({ connects: 1, disconnects: 0, commandsDropped: 1, commands: 1 });
  });
});
