/**
 * A fetch for in-process tests that trusts the emulator's CA. NODE_EXTRA_CA_CERTS is read only at process start,
 * and Node's bundled undici cannot be given a CA without the undici package, so this speaks node:https and wraps
 * the answer in a standard Response. Pass it as `fetch` to `send()` / `createArmClient()`.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { FetchLike } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/retry';

export function trustingFetch(caCertPath: string): FetchLike {
  const ca = readFileSync(caCertPath);
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(signal.reason);
      const headers = new Headers(init.headers);
      const req = request(
        url,
        { method: init.method ?? 'GET', headers: Object.fromEntries(headers), ca, agent: false, signal },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const out = new Headers();
            for (const [k, v] of Object.entries(res.headers)) {
              if (Array.isArray(v)) for (const one of v) out.append(k, one);
              else if (v !== undefined) out.set(k, v);
            }
            const status = res.statusCode ?? 0;
            const empty = status === 204 || status === 304 || init.method === 'HEAD';
            resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers: out }));
          });
        },
      );
      req.on('error', (e) => reject(signal?.aborted ? signal.reason : e));
      const body = init.body;
      if (typeof body === 'string' || body instanceof Uint8Array) req.write(body);
      req.end();
    });
}
