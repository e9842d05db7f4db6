/**
 * Child-process side of the auth end-to-end tests. It runs where a task runs: a fresh Node process that trusts the
 * emulator's CA through NODE_EXTRA_CA_CERTS and finds IMDS through AZURE_POD_IDENTITY_AUTHORITY_HOST, exactly as
 * a machine would be configured. (Both are read once per process, and MSAL caches the managed identity source
 * per process, so this cannot run inside mocha's process.)
 *
 * stdin: ProbeInput JSON. stdout: one line, ProbeOutput JSON. No secret value is ever printed: registered secrets
 * are reported as SHA-256 hashes.
 */
import { createHash } from 'node:crypto';
import { connect } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/auth/connect';
import { envEndpointSource } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/auth/endpoint-source';

export interface ProbeCase {
  name: string;
  /** ENDPOINT_* and SYSTEM_* variables as the agent would set them. */
  env: Record<string, string>;
  connectionId: string;
  /** `token`: get a token for the connection's scope and call ARM with it; `advance`: move the emulated clock. */
  steps: ({ op: 'token' } | { op: 'advance'; seconds: number })[];
}

export interface ProbeInput {
  armUrl: string;
  controlUrl: string;
  subscriptionId: string;
  cases: ProbeCase[];
}

export type StepResult =
  | { op: 'token'; ok: true; armStatus: number; scope: string }
  | { op: 'token'; ok: false; name: string; code?: string; message: string; remedy?: string }
  | { op: 'advance'; ok: boolean };

export interface ProbeOutput {
  results: Record<string, { steps: StepResult[]; secretHashes: string[]; setupError?: StepResult }>;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function failure(e: unknown): StepResult {
  const err = e as { name?: string; code?: string; message?: string; remedy?: string };
  return {
    op: 'token',
    ok: false,
    name: String(err?.name ?? 'Error'),
    code: typeof err?.code === 'string' ? err.code : undefined,
    message: String(err?.message ?? e),
    remedy: typeof err?.remedy === 'string' ? err.remedy : undefined,
  };
}

async function runCase(input: ProbeInput, c: ProbeCase): Promise<ProbeOutput['results'][string]> {
  const secrets: string[] = [];
  const source = envEndpointSource(c.env, { onSecret: (v) => secrets.push(v) });
  const steps: StepResult[] = [];
  let connected: Awaited<ReturnType<typeof connect>>;
  try {
    connected = await connect(source, c.connectionId, { retry: { baseDelayInMs: 10, maxAttempts: 3 } });
  } catch (e: unknown) {
    return { steps, secretHashes: secrets.map(sha256), setupError: failure(e) };
  }
  for (const step of c.steps) {
    if (step.op === 'advance') {
      const r = await fetch(`${input.controlUrl}/clock/advance`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ seconds: step.seconds }),
      });
      steps.push({ op: 'advance', ok: r.ok });
      continue;
    }
    try {
      const token = await connected.credential.getToken(connected.connection.scope);
      if (!token) throw new Error('no token');
      const arm = await fetch(`${input.armUrl}subscriptions/${input.subscriptionId}?api-version=2022-12-01`, {
        headers: { authorization: `Bearer ${token.token}` },
      });
      await arm.text();
      steps.push({ op: 'token', ok: true, armStatus: arm.status, scope: connected.connection.scope });
    } catch (e: unknown) {
      steps.push(failure(e));
    }
  }
  await connected.dispose();
  return { steps, secretHashes: secrets.map(sha256) };
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ProbeInput;
  const output: ProbeOutput = { results: {} };
  for (const c of input.cases) output.results[c.name] = await runCase(input, c);
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`probe failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
