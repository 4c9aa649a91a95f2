// The three transports carry the same frames (docs/firmware-bridge.md, "Transports"): a Unix domain
// socket (default), TCP on loopback only, and stdio when the runtime runs as the firmware's child.
import fs from 'node:fs';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { BridgeError, corkedWriter } from '../protocol/index.ts';
import type { BridgeCore } from './core.ts';
import type { Wire } from './types.ts';

export type TransportSpec =
  | {
      readonly kind: 'unix';
      readonly path: string;
      /** File mode of the socket, e.g. 0o660. */ readonly mode?: number;
    }
  | { readonly kind: 'tcp'; readonly host: string; /** 0 picks a free port. */ readonly port: number }
  | { readonly kind: 'stdio'; readonly input: Readable; readonly output: Writable };

export type BridgeAddress =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'stdio' };

export interface Listener {
  readonly address: BridgeAddress;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function socketWire(socket: net.Socket, label: string): Wire {
  return {
    label,
    write: corkedWriter(socket),
    end: () => socket.end(),
    destroy: () => socket.destroy(),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  };
}

function serve(core: BridgeCore, socket: net.Socket, label: string): void {
  socket.on('error', () => {
    // 'close' follows every 'error'; the connection is released there.
  });
  const connection = core.accept(socketWire(socket, label));
  if (!connection) return;
  socket.on('data', (chunk: Buffer) => {
    connection.receive(chunk);
  });
  socket.on('drain', () => {
    connection.drained();
  });
  socket.on('close', () => {
    connection.ended();
  });
}

function listen(server: net.Server, bind: (done: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(new BridgeError('BAD_CONFIG', `cannot listen: ${error.message}`, { cause: error }));
    };
    server.once('error', onError);
    bind(() => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

/** A socket file left by a crashed runtime is removed; a live one (or any other file) is an error. */
async function clearStaleSocket(path: string): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new BridgeError('BAD_CONFIG', `${path} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => {
      resolve(false);
    });
  });
  if (live) throw new BridgeError('BAD_CONFIG', `another server is listening on ${path}`);
  fs.unlinkSync(path);
}

export async function listenUnix(core: BridgeCore, path: string, mode?: number): Promise<Listener> {
  await clearStaleSocket(path);
  const server = net.createServer((socket) => {
    serve(core, socket, 'unix');
  });
  await listen(server, (done) => server.listen(path, done));
  if (mode !== undefined) fs.chmodSync(path, mode);
  return {
    address: { kind: 'unix', path },
    close: async () => {
      await closeServer(server);
      try {
        fs.unlinkSync(path);
      } catch {
        // already removed
      }
    },
  };
}

export async function listenTcp(core: BridgeCore, host: string, port: number): Promise<Listener> {
  if (!LOOPBACK.has(host)) {
    throw new BridgeError('BAD_CONFIG', `TCP is served on loopback only (127.0.0.1, ::1), not ${host}`);
  }
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    serve(core, socket, `tcp ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`);
  });
  await listen(server, (done) => server.listen(port, host, done));
  const address = server.address() as net.AddressInfo;
  return { address: { kind: 'tcp', host, port: address.port }, close: () => closeServer(server) };
}

/** One connection over a pair of streams (the runtime's stdin/stdout when spawned by the firmware). */
export function attachStdio(core: BridgeCore, input: Readable, output: Writable): Listener {
  const wire: Wire = {
    label: 'stdio',
    write: (frame) => output.write(frame),
    end: () => output.end(),
    destroy: () => {
      input.destroy();
      output.destroy();
    },
    pause: () => input.pause(),
    resume: () => input.resume(),
  };
  const connection = core.accept(wire);
  const onData = (chunk: Buffer): void => connection?.receive(chunk);
  const onDrain = (): void => connection?.drained();
  const onEnd = (): void => connection?.ended();
  output.on('error', () => connection?.ended());
  input.on('data', onData);
  output.on('drain', onDrain);
  input.on('end', onEnd);
  input.on('close', onEnd);
  return {
    address: { kind: 'stdio' },
    close: () => {
      input.off('data', onData);
      output.off('drain', onDrain);
      return Promise.resolve();
    },
  };
}
