import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { EntraApplication } from '../emulator/entra';
import { federatedCredentialFor } from '../emulator/entra';
import { baseScenario, type Emulator } from '../emulator/index';
import { useEmulator } from '../harness/use-emulator';
import { endpointEnv, systemConnectionEnv } from './agent-env';
import { createTestCertificate } from './certificate';
import type { ProbeCase, ProbeInput, ProbeOutput, StepResult } from './probe';

const ORG = 'contoso';
const PROJECT = randomUUID();
const WIF_CONNECTION = randomUUID();
/** Known to the pipeline, but the app has no federated credential for it. */
const UNFEDERATED_CONNECTION = randomUUID();
const SYSTEM_IDENTITY = { clientId: randomUUID(), objectId: randomUUID(), default: true };
const USER_IDENTITY = { clientId: randomUUID(), objectId: randomUUID() };
const EXPIRED_SECRET = `expired-${randomUUID()}`;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

interface ProbeRun {
  output: ProbeOutput;
  stdout: string;
  stderr: string;
}

/** Runs the probe in a fresh Node process configured the way an agent machine would be. */
function runProbe(emulator: Emulator, cases: ProbeCase[]): Promise<ProbeRun> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // A developer machine's own Azure settings must not leak into the run.
    if (!/^(AZURE_|IDENTITY_|IMDS_|MSI_|ENDPOINT_|SYSTEM_|INPUT_)/i.test(k)) env[k] = v;
  }
  env.NODE_EXTRA_CA_CERTS = emulator.info.caCertPath;
  // How an AKS pod-identity (or any non-default IMDS) host is announced to MSAL: the machine's environment.
  env.AZURE_POD_IDENTITY_AUTHORITY_HOST = emulator.info.armUrl.replace(/\/$/, '');
  const input: ProbeInput = {
    armUrl: emulator.info.armUrl,
    controlUrl: emulator.info.controlUrl,
    subscriptionId: emulator.info.subscriptionId,
    cases,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'probe.ts')], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`probe exited ${code}: ${stderr}`));
      resolve({ output: JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ProbeOutput, stdout, stderr });
    });
    child.stdin.end(JSON.stringify(input));
  });
}

describe('auth end to end: every scheme signs in against the emulator from a fresh process', () => {
  let emulator: Emulator;
  let run: ProbeRun;
  const certificate = createTestCertificate('sc-certificate');
  const strangerCertificate = createTestCertificate('not-registered');

  const start = useEmulator({ per: 'suite' });
  before(async function () {
    this.timeout(120_000);
    emulator = await start({
      ...baseScenario({ name: 'auth-e2e' }),
      // Tokens shorter than MSAL's 5-minute renewal margin make every getToken a real sign-in, and a short
      // assertion lifetime lets a few clock jumps outlive several assertions.
      delays: { tokenLifetimeSeconds: 60, assertionLifetimeSeconds: 120 },
      caller: {
        certificatesPem: [certificate.certificatePem],
        federatedCredentials: [federatedCredentialFor(ORG, PROJECT, WIF_CONNECTION)],
      },
      pipeline: {
        organization: ORG,
        projectId: PROJECT,
        serviceConnectionIds: [WIF_CONNECTION, UNFEDERATED_CONNECTION],
      },
      agentIdentities: [SYSTEM_IDENTITY, USER_IDENTITY],
      roleAssignments: [
        { principal: SYSTEM_IDENTITY.objectId, role: 'Reader', scope: 'subscription' },
        { principal: USER_IDENTITY.objectId, role: 'Reader', scope: 'subscription' },
      ],
    });
    (emulator.state.applications[0] as EntraApplication).expiredSecrets = [EXPIRED_SECRET];

    const info = emulator.info;
    const data = {
      subscriptionid: info.subscriptionId,
      subscriptionname: 'Emulated subscription',
      environment: 'AzureCloud',
      activeDirectoryAuthority: info.authorityUrl,
      environmentAuthorityUrl: info.authorityUrl,
      ScopeLevel: 'Subscription',
    };
    const collection = `${info.armUrl}${ORG}/`;
    const job = {
      ...systemConnectionEnv(info.jobAccessToken, collection),
      SYSTEM_OIDCREQUESTURI: info.oidcRequestUri,
      SYSTEM_COLLECTIONURI: collection,
      SYSTEM_TEAMPROJECT: 'Fabrikam',
    };
    const project = { SYSTEM_COLLECTIONURI: collection, SYSTEM_TEAMPROJECT: 'Fabrikam' };
    const spn = (
      id: string,
      auth: Record<string, string>,
      scheme: string | undefined = 'ServicePrincipal',
    ) => ({
      ...endpointEnv(id, {
        scheme,
        url: info.armUrl,
        auth: { serviceprincipalid: info.clientId, tenantid: info.tenantId, ...auth },
        data,
      }),
      ...project,
    });
    const wif = (id: string, extra: Record<string, string> = job) => ({
      ...endpointEnv(id, {
        scheme: 'WorkloadIdentityFederation',
        url: info.armUrl,
        auth: { serviceprincipalid: info.clientId, tenantid: info.tenantId },
        data,
      }),
      ...extra,
    });
    const msi = (id: string, msiClientId?: string) =>
      endpointEnv(id, {
        scheme: 'ManagedServiceIdentity',
        url: info.armUrl,
        auth: { tenantid: info.tenantId },
        data: msiClientId ? { ...data, msiclientId: msiClientId } : data,
      });
    const token = [{ op: 'token' as const }];
    const c = (name: string, env: Record<string, string>, steps: ProbeCase['steps'] = token): ProbeCase => {
      const id = Object.keys(env)
        .find((k) => k.startsWith('ENDPOINT_URL_') && !k.endsWith('SYSTEMVSSCONNECTION'))
        ?.slice('ENDPOINT_URL_'.length);
      return { name, env, connectionId: id ?? '', steps };
    };
    const secretAuth = { authenticationType: 'spnKey', serviceprincipalkey: info.clientSecret };

    run = await runProbe(emulator, [
      // Managed identity first: MSAL caches its tokens per process, and later cases move the clock.
      c('msi-system', msi(randomUUID())),
      c('msi-user', msi(randomUUID(), USER_IDENTITY.clientId)),
      c('msi-unknown', msi(randomUUID(), randomUUID())),
      c('secret', spn(randomUUID(), secretAuth)),
      c('no-scheme', spn(randomUUID(), secretAuth, undefined)),
      c(
        'certificate',
        spn(randomUUID(), {
          authenticationType: 'spnCertificate',
          servicePrincipalCertificate: certificate.combinedPem,
        }),
      ),
      c('wif', wif(WIF_CONNECTION)),
      c(
        'wif-built-url',
        wif(WIF_CONNECTION, {
          ...systemConnectionEnv(info.jobAccessToken, collection),
          SYSTEM_COLLECTIONURI: collection,
          SYSTEM_TEAMPROJECTID: PROJECT,
          SYSTEM_HOSTTYPE: 'build',
          SYSTEM_PLANID: randomUUID(),
          SYSTEM_JOBID: randomUUID(),
        }),
      ),
      c('wrong-secret', spn(randomUUID(), { ...secretAuth, serviceprincipalkey: `wrong-${randomUUID()}` })),
      c('expired-secret', spn(randomUUID(), { ...secretAuth, serviceprincipalkey: EXPIRED_SECRET })),
      c(
        'unknown-app',
        endpointEnv(randomUUID(), {
          scheme: 'ServicePrincipal',
          url: info.armUrl,
          auth: { serviceprincipalid: randomUUID(), tenantid: info.tenantId, ...secretAuth },
          data,
        }),
      ),
      c(
        'unregistered-certificate',
        spn(randomUUID(), {
          authenticationType: 'spnCertificate',
          servicePrincipalCertificate: strangerCertificate.combinedPem,
        }),
      ),
      c('wif-subject-mismatch', wif(UNFEDERATED_CONNECTION)),
      c('wif-unknown-connection', wif(randomUUID())),
      c(
        'wif-wrong-job-token',
        wif(WIF_CONNECTION, { ...job, ...systemConnectionEnv(`wrong-${randomUUID()}`, collection) }),
      ),
      c('wif-no-oidc-endpoint', wif(WIF_CONNECTION, systemConnectionEnv(info.jobAccessToken, collection))),
      c('publish-profile', endpointEnv(randomUUID(), { scheme: 'PublishProfile', url: info.armUrl, data })),
      // Last, because it moves the clock: three tokens, each after every earlier assertion has expired.
      c('wif-long-run', wif(WIF_CONNECTION), [
        { op: 'token' },
        { op: 'advance', seconds: 900 },
        { op: 'token' },
        { op: 'advance', seconds: 900 },
        { op: 'token' },
      ]),
    ]);
  });

  function steps(name: string): StepResult[] {
    const result = run.output.results[name];
    assert.ok(result, `case ${name} ran`);
    assert.equal(
      result.setupError,
      undefined,
      `case ${name} connected: ${JSON.stringify(result.setupError)}`,
    );
    return result.steps;
  }

  function onlyFailure(name: string): Extract<StepResult, { ok: false }> {
    const result = run.output.results[name];
    assert.ok(result, `case ${name} ran`);
    const failed = result.setupError ?? result.steps[0];
    assert.ok(failed && failed.op === 'token' && !failed.ok, `case ${name} failed`);
    return failed;
  }

  const succeeding: [string, string][] = [
    ['secret', 'a service principal with a client secret'],
    ['no-scheme', 'a connection without a scheme (read as a service principal, as azure-arm-rest does)'],
    ['certificate', 'a service principal with a certificate passed in memory'],
    ['wif', 'workload identity federation through System.OidcRequestUri'],
    [
      'wif-built-url',
      'workload identity federation through the URL built from the collection, project, plan and job',
    ],
    ['msi-system', "the agent VM's managed identity, found through AZURE_POD_IDENTITY_AUTHORITY_HOST"],
    ['msi-user', 'a user-assigned identity of the agent VM named by msiclientId'],
  ];
  for (const [name, what] of succeeding) {
    it(`gets an ARM token that ARM accepts for ${what}`, () => {
      const [first] = steps(name);
      assert.deepEqual(first, {
        op: 'token',
        ok: true,
        armStatus: 200,
        scope: `${emulator.info.armUrl}.default`,
      });
    });
  }

  it('keeps signing in with workload identity federation after several assertion lifetimes (no AADSTS700024)', () => {
    const results = steps('wif-long-run');
    assert.equal(results.length, 5);
    for (const r of results) {
      if (r.op === 'token')
        assert.deepEqual(r, {
          op: 'token',
          ok: true,
          armStatus: 200,
          scope: `${emulator.info.armUrl}.default`,
        });
      else assert.equal(r.ok, true);
    }
  });

  const failing: [string, string, RegExp][] = [
    ['wrong-secret', 'AUTH_SECRET_INVALID', /not its secret ID/],
    ['expired-secret', 'AUTH_SECRET_EXPIRED', /new client secret/],
    ['unknown-app', 'AUTH_APP_NOT_FOUND', /client\) ID and the tenant ID/],
    ['unregistered-certificate', 'AUTH_CERTIFICATE_REJECTED', /Upload the certificate/],
    ['wif-subject-mismatch', 'AUTH_FEDERATION_MISMATCH', /issuer and subject identifier/],
    ['wif-unknown-connection', 'AUTH_OIDC_CONNECTION_REJECTED', /authorized to use it/],
    ['wif-wrong-job-token', 'AUTH_OIDC_UNAUTHORIZED', /Re-run the job/],
    ['wif-no-oidc-endpoint', 'AUTH_OIDC_UNAVAILABLE', /agent 3\.227\.1/],
    ['publish-profile', 'AUTH_SCHEME_NOT_SUPPORTED', /workload identity federation/],
    ['msi-unknown', 'AUTH_MANAGED_IDENTITY_UNAVAILABLE', /user-assigned identity/],
  ];
  for (const [name, code, remedy] of failing) {
    it(`fails ${name} with TaskError ${code} and a remedy`, () => {
      const failed = onlyFailure(name);
      assert.equal(failed.name, 'TaskError', failed.message);
      assert.equal(failed.code, code, failed.message);
      assert.match(failed.remedy ?? '', remedy);
    });
  }

  it('links remedies to the service connection settings page when the pipeline variables exist', () => {
    const failed = onlyFailure('expired-secret');
    assert.match(
      failed.remedy ?? '',
      /\/contoso\/Fabrikam\/_settings\/adminservices\?resourceId=[0-9a-f-]{36}$/,
    );
  });

  it('prints no secret, token or assertion, and registers every one the emulator issued before use', () => {
    const issued = emulator.issuedSecrets();
    const printed = `${run.stdout}\n${run.stderr}`;
    for (const value of [...issued, certificate.keyPem, EXPIRED_SECRET]) {
      assert.ok(!printed.includes(value), 'a secret value appears in the probe output');
    }
    for (const line of certificate.keyPem
      .split('\n')
      .filter((l) => l.length > 20 && !l.startsWith('-----'))) {
      assert.ok(!printed.includes(line), 'a line of the private key appears in the probe output');
    }
    const registered = new Set(Object.values(run.output.results).flatMap((r) => r.secretHashes));
    for (const value of issued)
      assert.ok(registered.has(sha256(value)), 'an issued secret was not registered');
  });
});
