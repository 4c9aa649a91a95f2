// A device's network link to the broker, as a TCP relay on loopback that the demo can cut (the link
// drops and stays down: connections are refused until it is restored) and slow down (a gateway on a
// weak cellular link). It works in front of any broker (embedded Aedes, Mosquitto), so the same
// scenarios run against both.
import net from 'node:net';

export class LinkProxy {
  private up = true;
  private readonly sockets = new Set<net.Socket>();
  private bytesPerS: number | null = null;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<LinkProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as net.AddressInfo).port;
    const proxy = new LinkProxy(server, port, target);
    server.on('connection', (socket) => {
      proxy.accept(socket);
    });
    return proxy;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get isUp(): boolean {
    return this.up;
  }

  /** Cuts the link: every connection drops, new ones are refused until `restore()`. */
  cut(): void {
    this.up = false;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  restore(): void {
    this.up = true;
  }

  /** Limits the device-bound direction to about this many bytes per second (null: no limit). */
  throttle(bytesPerS: number | null): void {
    this.bytesPerS = bytesPerS;
  }

  private accept(client: net.Socket): void {
    if (!this.up) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.on('data', (data: Buffer) => {
      if (!upstream.write(data)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (data: Buffer) => {
      const limit = this.bytesPerS;
      if (limit === null) {
        if (!client.write(data)) upstream.pause();
        return;
      }
      // Hold the data for as long as the link would take to carry it.
      upstream.pause();
      setTimeout(
        () => {
          if (!client.destroyed) client.write(data);
          upstream.resume();
        },
        Math.ceil((data.length / limit) * 1000),
      );
    });
    client.on('drain', () => upstream.resume());
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }
}
