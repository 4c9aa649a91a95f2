// Broker harness for integration tests: an embedded Aedes broker in-process and a real Mosquitto
// process, both on a free loopback port, both with the same handle so a test can run against either.
// kill() is an outage (every connection dropped), restart() brings the broker back on the same port,
// stop() ends it for good.
//
// What survives an outage differs, as it does between real deployments:
// - Aedes (in-process) keeps its broker instance across kill()/restart(): listener closed, every
//   socket destroyed, then re-listen. Sessions and queued QoS 1 messages survive, as with a broker
//   that persists its state or a network partition in front of it.
// - Mosquitto runs with persistence off and is SIGKILLed: every session and retained message is
//   lost. Before the SIGKILL the process is frozen (SIGSTOP) for `freezeMs`: the device's publishes
//   then pile up unacknowledged (the in-flight case the outbox must cover), while what Mosquitto
//   had already acknowledged and written drains from the kernel to subscribers. Without the
//   freeze, a SIGKILL can reset a subscriber's socket with acknowledged messages still in its send
//   buffer: a broker without persistence losing what it acknowledged is the broker's durability
//   problem (persistence, clustering), not the device's, and is outside these tests.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';

export type BrokerName = 'aedes' | 'mosquitto';

export interface BrokerHandle {
  readonly name: BrokerName;
  readonly url: string;
  readonly port: number;
  /** MQTT protocol levels the broker speaks (Aedes 1.x: 3.1.1 only). */
  readonly protocols: readonly (4 | 5)[];
  /** Ends the broker for good. */
  stop(): Promise<void>;
  /** Outage: drops every connection (see the header for what each broker keeps). */
  kill(): Promise<void>;
  /** Brings the broker back on the same port after kill(). */
  restart(): Promise<void>;
}

export const MOSQUITTO_BIN = process.env.VIGIL_MOSQUITTO ?? '/usr/sbin/mosquitto';

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  return port;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => {
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startAedes(options: { port?: number } = {}): Promise<BrokerHandle> {
  const port = options.port ?? (await freePort());
  let current: { broker: Aedes; server: net.Server; sockets: Set<net.Socket> } | null = null;

  async function listen(): Promise<void> {
    const broker = await Aedes.createBroker();
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      broker.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    current = { broker, server, sockets };
  }

  async function unlisten(): Promise<void> {
    const c = current;
    if (!c) return;
    const closed = new Promise<void>((resolve) =>
      c.server.close(() => {
        resolve();
      }),
    );
    for (const socket of c.sockets) socket.destroy();
    await closed;
  }

  async function relisten(): Promise<void> {
    const c = current;
    if (!c) return;
    await new Promise<void>((resolve, reject) => {
      c.server.once('error', reject);
      c.server.listen(port, '127.0.0.1', () => {
        c.server.off('error', reject);
        resolve();
      });
    });
  }

  await listen();
  return {
    name: 'aedes',
    url: `mqtt://127.0.0.1:${port}`,
    port,
    protocols: [4],
    stop: async () => {
      const c = current;
      await unlisten();
      current = null;
      if (c)
        await new Promise<void>((resolve) => {
          c.broker.close(() => {
            resolve();
          });
        });
    },
    kill: unlisten,
    restart: async () => {
      await unlisten();
      await relisten();
    },
  };
}

export async function startMosquitto(
  options: { port?: number; freezeMs?: number } = {},
): Promise<BrokerHandle> {
  const freezeMs = options.freezeMs ?? 150;
  if (!fs.existsSync(MOSQUITTO_BIN)) {
    throw new Error(
      `Mosquitto is required for this test but ${MOSQUITTO_BIN} does not exist: install the Debian package ` +
        '`mosquitto` (apt-get install -y mosquitto), as .ci/run does, or set VIGIL_MOSQUITTO',
    );
  }
  const port = options.port ?? (await freePort());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-mosquitto-'));
  const config = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(
    config,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'log_dest none',
      // Room for a whole test stream queued for a reconnecting persistent session.
      'max_queued_messages 100000',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | null = null;
  let stderr = '';

  async function launch(): Promise<void> {
    stderr = '';
    const proc = spawn(MOSQUITTO_BIN, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child = proc;
    const exited = new Promise<never>((_, reject) => {
      proc.once('exit', (code, signal) => {
        reject(new Error(`mosquitto exited early (${code ?? signal ?? '?'}): ${stderr.trim()}`));
      });
    });
    exited.catch(() => undefined);
    await Promise.race([waitForPort(port, 10_000), exited]);
  }

  async function killProcess(signal: NodeJS.Signals): Promise<void> {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) =>
      proc.once('exit', () => {
        resolve();
      }),
    );
    if (proc.pid !== undefined) process.kill(proc.pid, signal);
    await gone;
  }

  await launch();
  return {
    name: 'mosquitto',
    url: `mqtt://127.0.0.1:${port}`,
    port,
    protocols: [4, 5],
    stop: async () => {
      await killProcess('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
    kill: async () => {
      const proc = child;
      if (freezeMs > 0 && proc?.pid !== undefined && proc.exitCode === null) {
        process.kill(proc.pid, 'SIGSTOP');
        await new Promise((r) => setTimeout(r, freezeMs));
      }
      await killProcess('SIGKILL');
    },
    restart: async () => {
      await killProcess('SIGKILL');
      await launch();
    },
  };
}

export const BROKERS: readonly { readonly name: BrokerName; readonly start: () => Promise<BrokerHandle> }[] =
  [
    { name: 'aedes', start: () => startAedes() },
    { name: 'mosquitto', start: () => startMosquitto() },
  ];
