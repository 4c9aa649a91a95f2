// The device client's own connection to the broker: a TCP or TLS socket behind a PacketGuard, handed
// to mqtt.js as its stream. Built here rather than by mqtt.connect() so that every inbound byte
// passes the guard before mqtt.js can buffer it (packet-guard.ts).
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { DeviceClientOptions } from './options.ts';

/** Where to connect, from the (validated) URL: mqtt:// and tcp:// plain, mqtts:// and ssl:// TLS. */
export function brokerAddress(url: string): { host: string; port: number; secure: boolean } {
  const parsed = new URL(url);
  const secure = parsed.protocol === 'mqtts:' || parsed.protocol === 'ssl:';
  // URL keeps IPv6 literals in brackets; sockets want them bare.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost';
  const port = parsed.port === '' ? (secure ? 8883 : 1883) : Number(parsed.port);
  return { host, port, secure };
}

/** Credentials written in the URL (`mqtt://user:pass@host`), used when the options give none. */
export function urlCredentials(url: string): { username?: string; password?: string } {
  const parsed = new URL(url);
  const out: { username?: string; password?: string } = {};
  if (parsed.username !== '') out.username = decodeURIComponent(parsed.username);
  if (parsed.password !== '') out.password = decodeURIComponent(parsed.password);
  return out;
}

export function openSocket(options: DeviceClientOptions): Duplex {
  const { host, port, secure } = brokerAddress(options.url);
  if (!secure) return net.createConnection({ host, port });
  const t = options.tls;
  const servername = t?.servername ?? (net.isIP(host) === 0 ? host : undefined);
  const tlsOptions: tls.ConnectionOptions = {
    host,
    port,
    rejectUnauthorized: t?.rejectUnauthorized ?? true,
  };
  if (servername !== undefined) tlsOptions.servername = servername;
  if (t?.ca !== undefined) tlsOptions.ca = t.ca;
  if (t?.cert !== undefined) tlsOptions.cert = t.cert;
  if (t?.key !== undefined) tlsOptions.key = t.key;
  return tls.connect(tlsOptions);
}
