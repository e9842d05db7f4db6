/**
 * Trusting the emulator's CA inside the test process, for tests that build the task's clients by hand (verify and
 * per-instance end-to-end): the global fetch and a pipeline policy for the ARM client.
 */
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';

/** Global fetch (undici) reads NODE_EXTRA_CA_CERTS only at start: swap in a dispatcher that trusts the CA. */
export async function trustForFetch(caPem: string): Promise<() => void> {
  await fetch('data:,x').catch(() => undefined); // loads undici, which installs its global dispatcher
  const key = Symbol.for('undici.globalDispatcher.1');
  const g = globalThis as unknown as Record<symbol, { constructor: new (o: object) => unknown }>;
  const previous = g[key];
  if (!previous) throw new Error('undici global dispatcher not found');
  g[key] = new previous.constructor({ connect: { ca: [...rootCertificates, caPem] } }) as typeof previous;
  return () => {
    g[key] = previous;
  };
}

/** A pipeline policy that sends every request through an agent trusting the emulator's CA. */
export function trustPolicy(caPem: string): PipelinePolicy {
  const agent = new HttpsAgent({ ca: caPem, keepAlive: false });
  return {
    name: 'trustEmulatorCa',
    sendRequest: (request, next) => {
      request.agent = agent;
      return next(request);
    },
  };
}
