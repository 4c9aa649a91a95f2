// How the client reaches the runtime: a Unix socket (default), TCP on loopback, or any pair of
// streams (e.g. the stdin/stdout of a runtime the firmware spawned).
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { BridgeError, corkedWriter } from '../protocol/index.ts';

export type ClientTransport =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | {
      readonly kind: 'streams';
      /** Called on every (re)connect. */
      open(): Promise<{ readonly input: Readable; readonly output: Writable }>;
    };

export interface PipeEvents {
  data(chunk: Uint8Array): void;
  drain(): void;
  closed(): void;
}

export interface ClientPipe {
  write(frame: Uint8Array): boolean;
  end(): void;
  destroy(): void;
}

function socketPipe(socket: net.Socket, events: PipeEvents): ClientPipe {
  socket.on('data', (chunk: Buffer) => {
    events.data(chunk);
  });
  socket.on('drain', () => {
    events.drain();
  });
  socket.on('close', () => {
    events.closed();
  });
  socket.on('error', () => {
    // 'close' follows.
  });
  return { write: corkedWriter(socket), end: () => socket.end(), destroy: () => socket.destroy() };
}

function connectSocket(options: net.NetConnectOpts): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(options);
    const onError = (error: Error): void => {
      socket.destroy();
      reject(new BridgeError('NOT_CONNECTED', `cannot connect: ${error.message}`, { cause: error }));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

export async function openPipe(transport: ClientTransport, events: PipeEvents): Promise<ClientPipe> {
  switch (transport.kind) {
    case 'unix':
      return socketPipe(await connectSocket({ path: transport.path }), events);
    case 'tcp': {
      const socket = await connectSocket({ host: transport.host, port: transport.port });
      socket.setNoDelay(true);
      return socketPipe(socket, events);
    }
    case 'streams': {
      const { input, output } = await transport.open();
      let closed = false;
      const close = (): void => {
        if (closed) return;
        closed = true;
        events.closed();
      };
      input.on('data', (chunk: Buffer) => {
        events.data(chunk);
      });
      input.on('end', close);
      input.on('close', close);
      input.on('error', close);
      output.on('error', close);
      output.on('drain', () => {
        events.drain();
      });
      return {
        write: (frame) => output.write(frame),
        end: () => output.end(),
        destroy: () => {
          output.destroy();
          input.destroy();
          close();
        },
      };
    }
  }
}
