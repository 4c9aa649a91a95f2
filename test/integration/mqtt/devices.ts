// A test device's transport stack, wired the way the runtime wires it: durable outbox, MQTT device
// client, update receiver whose statuses go through the outbox, and a stand-in for the lifecycle's
// install path that records what it was handed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DeviceClient } from '../../../monitor/mqtt/index.ts';
import type { Outbox } from '../../../monitor/outbox/index.ts';
import { openDeviceTransport } from '../../../monitor/updates/index.ts';
import type { InstallResult, UpdateLimits, UpdateReceiver } from '../../../monitor/updates/index.ts';

export interface TestDevice {
  readonly name: string;
  readonly dir: string;
  client: DeviceClient;
  receiver: UpdateReceiver;
  outbox: Outbox;
  /** Bundles handed to the install path, in order. */
  readonly installed: Uint8Array[];
  /** Chunk messages seen by the current receiver instance. */
  chunkMessages: number;
  onChunk: ((count: number) => void) | null;
  /** Stops everything abruptly (socket dropped, files closed) and starts new instances. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestDeviceOptions {
  readonly url: string;
  readonly fleet: string;
  readonly name: string;
  readonly cohort?: string;
  readonly limits?: Partial<UpdateLimits>;
  readonly install?: (bytes: Uint8Array) => InstallResult;
}

export async function startDevice(o: TestDeviceOptions): Promise<TestDevice> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vigil-dev-${o.name}-`));
  const installed: Uint8Array[] = [];
  const device: TestDevice = {
    name: o.name,
    dir,
    installed,
    chunkMessages: 0,
    onChunk: null,
    client: undefined as unknown as DeviceClient,
    receiver: undefined as unknown as UpdateReceiver,
    outbox: undefined as unknown as Outbox,
    restart: async () => {
      await device.client.stop({ graceful: false });
      device.receiver.close();
      device.outbox.close();
      open();
    },
    stop: async () => {
      await device.client.stop();
      device.receiver.close();
      device.outbox.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };

  function open(): void {
    device.chunkMessages = 0;
    const transport = openDeviceTransport(
      {
        dataDir: dir,
        mqtt: {
          url: o.url,
          fleet: o.fleet,
          device: o.name,
          ...(o.cohort === undefined ? {} : { cohort: o.cohort }),
          reconnect: { initialDelayMs: 50, maxDelayMs: 300 },
          connectTimeoutMs: 2000,
        },
        updateLimits: { stallMs: 400, ...o.limits },
      },
      {
        onCommand: () => undefined,
        onBundleStaged: (file) => {
          const bytes = new Uint8Array(fs.readFileSync(file));
          installed.push(bytes);
          return o.install ? o.install(bytes) : { kind: 'installed' };
        },
      },
    );
    // Count chunk messages seen by this instance (the receiver's entry point, wrapped).
    const handle = transport.receiver.handleMessage.bind(transport.receiver);
    transport.receiver.handleMessage = (payload, topic) => {
      if (topic.includes('/chunk/')) {
        device.chunkMessages += 1;
        device.onChunk?.(device.chunkMessages);
      }
      return handle(payload, topic);
    };
    device.outbox = transport.outbox;
    device.receiver = transport.receiver;
    device.client = transport.client;
    transport.start();
  }

  open();
  const deadline = Date.now() + 5000;
  while (device.client.state.kind !== 'online') {
    if (Date.now() > deadline) throw new Error(`${o.name} did not connect`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return device;
}

/** Deterministic test bytes standing in for a bundle. */
export function testBundle(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 1) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
