// TLS with client certificates: an in-process Aedes behind a TLS listener that requires a client
// certificate from a test CA (made with openssl for this run). The device connects with its
// certificate and the CA; without a certificate, or trusting another CA, it never gets online.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceClient } from '../../../monitor/mqtt/index.ts';
import type { MqttError } from '../../../monitor/mqtt/index.ts';
import { Outbox } from '../../../monitor/outbox/index.ts';
import { waitUntil } from './receiver.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-tls-'));
const pem = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  } catch (error) {
    throw new Error(
      `openssl is needed to make the test certificates (Debian package openssl): ${String(error)}`,
    );
  }
}

/** A CA, and a certificate signed by it for `cn` (with a DNS SAN). */
function makeCa(name: string): void {
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
  ]);
}

function makeCert(name: string, ca: string, cn: string): void {
  fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=DNS:${cn}\n`);
  openssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
  ]);
}

let broker: Aedes;
let server: tls.Server;
let url = '';

beforeAll(async () => {
  makeCa('ca');
  makeCa('other-ca');
  makeCert('server', 'ca', 'localhost');
  makeCert('device', 'ca', 'dev-1');
  broker = await Aedes.createBroker();
  server = tls.createServer(
    {
      key: pem('server.key'),
      cert: pem('server.crt'),
      ca: pem('ca.crt'),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => broker.handle(socket),
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `mqtts://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    broker.close(() => {
      resolve();
    });
  });
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

async function attempt(tlsOptions: Record<string, unknown>, expectOnline: boolean): Promise<MqttError[]> {
  const outbox = Outbox.open(path.join(fs.mkdtempSync(path.join(dir, 'box-')), 'outbox.db'));
  const errors: MqttError[] = [];
  const client = new DeviceClient(
    {
      url,
      fleet: 'f',
      device: 'dev-1',
      protocol: '3.1.1',
      tls: tlsOptions,
      reconnect: { initialDelayMs: 50 },
    },
    { outbox, onError: (e) => errors.push(e) },
  );
  client.start();
  try {
    if (expectOnline) await waitUntil(() => client.state.kind === 'online', 5000, 'online over TLS');
    else {
      await waitUntil(() => errors.length >= 2, 5000, 'connection failures');
      expect(client.state.kind).not.toBe('online');
    }
  } finally {
    await client.stop();
    outbox.close();
  }
  return errors;
}

describe('TLS and client certificates', () => {
  it('connects with the CA, a client certificate and the server name', async () => {
    await attempt(
      { ca: pem('ca.crt'), cert: pem('device.crt'), key: pem('device.key'), servername: 'localhost' },
      true,
    );
  });

  it('does not get online without a client certificate, or trusting another CA', async () => {
    const noCert = await attempt({ ca: pem('ca.crt'), servername: 'localhost' }, false);
    expect(noCert.every((e) => e.code === 'CONNECT_FAILED')).toBe(true);
    const wrongCa = await attempt(
      { ca: pem('other-ca.crt'), cert: pem('device.crt'), key: pem('device.key'), servername: 'localhost' },
      false,
    );
    expect(wrongCa.every((e) => e.code === 'CONNECT_FAILED')).toBe(true);
  });
});
