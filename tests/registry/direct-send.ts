/**
 * A `RegistrySend` for in-process tests: it sends `https://<name>.azurecr.io/...` to the emulator's port with the
 * login server as TLS server name and Host header, trusting the emulator's CA: what the agent's proxy tunnel does
 * for the built task, without a proxy. (The built task's end-to-end tests go through the real proxy.)
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type {
  RegistryRequest,
  RegistryResponse,
  RegistrySend,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/registry/data-plane';
import type { EmulatorInfo } from '../emulator/index';

export function directSend(info: EmulatorInfo, port = Number(new URL(info.armUrl).port)): RegistrySend {
  const ca = readFileSync(info.caCertPath);
  return (r: RegistryRequest) =>
    new Promise<RegistryResponse>((resolve, reject) => {
      const url = new URL(r.url);
      const req = request(
        {
          host: '127.0.0.1',
          port,
          servername: url.hostname,
          path: `${url.pathname}${url.search}`,
          method: r.method,
          headers: { ...r.headers, host: url.hostname },
          ca,
          agent: false,
          ...(r.signal ? { signal: r.signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers))
              if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
            resolve({ status: res.statusCode ?? 0, headers, text: Buffer.concat(chunks).toString('utf8') });
          });
        },
      );
      req.on('error', reject);
      if (r.body) req.write(r.body);
      req.end();
    });
}
