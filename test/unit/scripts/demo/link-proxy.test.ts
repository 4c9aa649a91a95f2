// The demo's link proxy: relays both ways, drops every connection and refuses new ones while cut,
// relays again once restored, and holds device-bound data for as long as a slow link would.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkProxy } from '../../../../scripts/demo/link-proxy.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An echo server on loopback. */
async function echo(): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('data', (d) => s.write(d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

/** Connects, sends `text`, resolves with what came back (or the error/close). */
function roundTrip(port: number, text: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (value: string) => {
      clearTimeout(timer);
      s.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => {
      done(`timeout:${got}`);
    }, timeoutMs);
    s.on('connect', () => s.write(text));
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) done(got);
    });
    s.on('error', () => {
      done(`error:${got}`);
    });
    s.on('close', () => {
      done(`closed:${got}`);
    });
  });
}

describe('link proxy', () => {
  it('relays, is cut, refuses while cut, and relays again when restored', async () => {
    const target = await echo();
    const proxy = await LinkProxy.start({ host: '127.0.0.1', port: target });
    cleanups.push(() => proxy.close());
    expect(proxy.url).toBe(`mqtt://127.0.0.1:${proxy.port}`);
    expect(await roundTrip(proxy.port, 'hello')).toBe('hello');

    // An open connection drops when the link is cut.
    const open = net.connect(proxy.port, '127.0.0.1');
    await new Promise<void>((resolve) =>
      open.on('connect', () => {
        resolve();
      }),
    );
    const dropped = new Promise<void>((resolve) =>
      open.on('close', () => {
        resolve();
      }),
    );
    proxy.cut();
    await dropped;
    expect(proxy.isUp).toBe(false);
    expect(await roundTrip(proxy.port, 'nobody home')).toMatch(/^(closed|error):$/);

    proxy.restore();
    expect(await roundTrip(proxy.port, 'back')).toBe('back');
  });

  it('delays device-bound bytes like a slow link', async () => {
    const target = await echo();
    const proxy = await LinkProxy.start({ host: '127.0.0.1', port: target });
    cleanups.push(() => proxy.close());
    proxy.throttle(2000); // bytes per second
    const text = 'x'.repeat(600);
    const started = Date.now();
    expect(await roundTrip(proxy.port, text, 5000)).toBe(text);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    proxy.throttle(null);
    const fast = Date.now();
    expect(await roundTrip(proxy.port, text)).toBe(text);
    expect(Date.now() - fast).toBeLessThan(250);
  });
});
