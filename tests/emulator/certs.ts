/**
 * A throw-away certificate authority and one server certificate for 127.0.0.1 / localhost (and *.azurecr.io), generated at every
 * start (no keys are committed). Clients trust the CA through NODE_EXTRA_CA_CERTS (Node) or
 * REQUESTS_CA_BUNDLE (az CLI, Python).
 *
 * Built with node:crypto (ECDSA P-256, milliseconds) and a few lines of DER: @peculiar/x509 needs a
 * reflect-metadata polyfill at runtime that this project does not otherwise carry.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../harness/temp';

export interface ServerCertificate {
  /** PEM of the CA that signed `certPem`. */
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Where the CA PEM was written. */
  caCertPath: string;
}

// --- DER -------------------------------------------------------------------------------------------------

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [a * 40 + b];
  for (const n of rest) {
    const chunk: number[] = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function integer(bytes: Buffer): Buffer {
  // DER wants the shortest form: a random serial starting 0x00 0x0_ would be refused ("illegal padding").
  let minimal = bytes;
  while (minimal.length > 1 && minimal[0] === 0 && ((minimal[1] ?? 0) & 0x80) === 0)
    minimal = minimal.subarray(1);
  return tlv(0x02, (minimal[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
}

function utcTime(d: Date): Buffer {
  const s = d.toISOString().replace(/[-:T]/g, '').slice(2, 14);
  return tlv(0x17, Buffer.from(`${s}Z`));
}

function name(commonName: string): Buffer {
  return seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(commonName)))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

function certificate(params: {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  extensions: Buffer[];
}): Buffer {
  const notBefore = new Date(Date.now() - 24 * 3600 * 1000);
  const notAfter = new Date(Date.now() + 30 * 24 * 3600 * 1000);
  const spki = params.publicKey.export({ type: 'spki', format: 'der' });
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(randomBytes(16)),
    ECDSA_SHA256,
    name(params.issuer),
    seq(utcTime(notBefore), utcTime(notAfter)),
    name(params.subject),
    spki,
    tlv(0xa3, seq(...params.extensions)),
  );
  const signature = sign('sha256', tbs, { key: params.signingKey, dsaEncoding: 'der' });
  return seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.from([0]), signature));
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** ACR login server domains in every cloud (a wildcard covers `<name>.azurecr.io`, not deeper names). */
export const REGISTRY_DOMAINS = ['azurecr.io', 'azurecr.us', 'azurecr.cn'];

// --- the pair --------------------------------------------------------------------------------------------

export async function createServerCertificate(): Promise<ServerCertificate> {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const server = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caName = `Local Azure Emulator CA ${randomBytes(4).toString('hex')}`;

  const caDer = certificate({
    subject: caName,
    issuer: caName,
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      // basicConstraints: CA, path length 0
      extension('2.5.29.19', true, seq(tlv(0x01, Buffer.from([0xff])), integer(Buffer.from([0])))),
      // keyUsage: keyCertSign, cRLSign
      extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x01, 0x06]))),
    ],
  });
  const serverDer = certificate({
    subject: 'localhost',
    issuer: caName,
    publicKey: createPublicKey(server.privateKey),
    signingKey: ca.privateKey,
    extensions: [
      extension('2.5.29.19', true, seq()),
      // keyUsage: digitalSignature
      extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x07, 0x80]))),
      // extKeyUsage: serverAuth
      extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))),
      // subjectAltName: IP 127.0.0.1, DNS localhost, and every registry login server (its data plane is reached
      // by name through the agent's proxy: routes/registry-data-plane.ts)
      extension(
        '2.5.29.17',
        false,
        seq(
          tlv(0x87, Buffer.from([127, 0, 0, 1])),
          tlv(0x82, Buffer.from('localhost')),
          ...REGISTRY_DOMAINS.map((d) => tlv(0x82, Buffer.from(`*.${d}`))),
        ),
      ),
    ],
  });

  const caPem = pem('CERTIFICATE', caDer);
  const keyPem = server.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  // Tracked: removed by emulator.close(), or when this process exits if the emulator was never closed.
  const dir = makeTempDir('azure-emulator-');
  const caCertPath = join(dir, 'ca.pem');
  writeFileSync(caCertPath, caPem);
  return { caPem, certPem: pem('CERTIFICATE', serverDer), keyPem, caCertPath };
}
