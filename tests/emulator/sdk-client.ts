/**
 * Test helpers that point the official Azure SDKs (and plain node:https) at a running emulator.
 *
 * NODE_EXTRA_CA_CERTS is read once at process start, and mocha runs every test file in one process, so in-process
 * tests cannot rely on it. Instead every client gets an `httpClient` whose requests carry an https.Agent that
 * trusts the emulator's CA: the SDK pipeline honours `request.agent`. Child processes (the built task, the demo)
 * use NODE_EXTRA_CA_CERTS=info.caCertPath instead.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';
import { ClientSecretCredential } from '@azure/identity';
import type { EmulatorInfo } from './server';

/** An SDK HttpClient that trusts the emulator's CA. */
export function trustingHttpClient(info: EmulatorInfo): HttpClient {
  const agent = new Agent({ ca: readFileSync(info.caCertPath), keepAlive: false });
  const inner = createDefaultHttpClient();
  return {
    sendRequest(req) {
      req.agent = agent;
      return inner.sendRequest(req);
    },
  };
}

/** The scenario's service principal, signing in against the emulator's Entra. */
export function emulatorCredential(
  info: EmulatorInfo,
  httpClient = trustingHttpClient(info),
): ClientSecretCredential {
  return new ClientSecretCredential(info.tenantId, info.clientId, info.clientSecret, {
    authorityHost: info.authorityUrl,
    disableInstanceDiscovery: true,
    httpClient,
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A plain HTTPS call that trusts the emulator's CA (for Kudu, the site host and fault checks). */
export function rawRequest(
  info: EmulatorInfo,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  const ca = readFileSync(info.caCertPath);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, ca, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    if (options.body) req.write(options.body);
    req.end();
  });
}
