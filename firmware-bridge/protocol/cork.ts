// Write batching shared by both ends of a socket.
import type net from 'node:net';

/** Bytes after which a batch leaves at once instead of waiting for the next tick. */
export const CORK_FLUSH_BYTES = 64 * 1024;

/**
 * Frames written in the same tick leave in one writev system call: the socket is corked at the first
 * write and uncorked on the next tick (the pattern Node documents for writable.cork()), or as soon as
 * the batch reaches CORK_FLUSH_BYTES, so that a sender looping without yielding still streams.
 */
export function corkedWriter(socket: net.Socket): (frame: Uint8Array) => boolean {
  let corked = false;
  let pending = 0;
  const uncork = (): void => {
    if (!corked) return;
    corked = false;
    pending = 0;
    socket.uncork();
  };
  return (frame) => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    const ok = socket.write(frame);
    pending += frame.length;
    if (pending >= CORK_FLUSH_BYTES) uncork();
    return ok;
  };
}
