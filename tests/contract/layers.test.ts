/**
 * The layers: only `src/arm/` knows Azure's wire shapes. It maps every answer to the task's facts (src/facts.ts) and
 * builds every request body from them, so the core (observe, plan, apply, verify, report, run) never names an ARM
 * field. This test reads the core's source with TypeScript's scanner: no identifier may be an ARM wire name, and a
 * string may mention one only where it is user-facing text (a remedy, a command, a log line) listed below with its
 * reason. Comments are free to name anything.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const TASK = join(__dirname, '..', '..', 'tasks', 'EnsureAcrManagedIdentityPullV1');

/** Where wire shapes belong: the Azure surfaces, the registry's own data-plane protocol, the HTTP layer. */
const WIRE_LAYERS = [/^src\/arm\//, /^src\/registry\/data-plane\.ts$/, /^src\/http\//];

/** ARM field names (Microsoft.Web, Microsoft.Authorization, Microsoft.ContainerRegistry, Microsoft.ManagedIdentity). */
const WIRE_NAMES = [
  'properties',
  'siteConfig',
  'linuxFxVersion',
  'windowsFxVersion',
  'acrUseManagedIdentityCreds',
  'acrUserManagedIdentityID',
  'userAssignedIdentities',
  'hostNameSslStates',
  'enabledHostNames',
  'lastModifiedTimeUtc',
  'vnetImagePullEnabled',
  'outboundVnetRouting',
  'userManagedIdentityClientId',
  'passwordSecret',
  'roleDefinitionId',
  'principalType',
  'networkRuleSet',
  'publicNetworkAccess',
  'azureADAuthenticationAsArmPolicy',
  'roleAssignmentMode',
];

/**
 * Strings in the core that may name a wire field, and why: each is text for a person (what the plan does, a fix to
 * run, a diagnosis), where Azure's own name is what the user will find in the portal, the CLI and the docs.
 */
const ALLOWED_IN_TEXT: readonly { file: string; name: string; why: string }[] = [
  {
    file: 'src/configure/observe.ts',
    name: 'acrUseManagedIdentityCreds',
    why: 'HostingNotSupported names the setting Functions on Container Apps refuse',
  },
  {
    file: 'src/configure/placement.ts',
    name: 'acrUseManagedIdentityCreds',
    why: "the warning names the deploy step's configurationStrings argument",
  },
  {
    file: 'src/report.ts',
    name: 'acrUserManagedIdentityID',
    why: 'the configurationStrings output is the deploy step argument, verbatim',
  },
  {
    file: 'src/cutover/plan.ts',
    name: 'acrUseManagedIdentityCreds',
    why: "the cutover sequence's text names the setting the fallback writes back",
  },
  {
    file: 'src/cutover/cutover.ts',
    name: 'acrUseManagedIdentityCreds',
    why: 'the put-back log line names the setting it writes back',
  },
  {
    file: 'src/configure/plan.ts',
    name: 'acrUseManagedIdentityCreds',
    why: "the plan's step text names the setting",
  },
  {
    file: 'src/configure/plan.ts',
    name: 'acrUserManagedIdentityID',
    why: "the plan's step text names the setting",
  },
  {
    file: 'src/configure/plan.ts',
    name: 'properties',
    why: 'the remedy is an `az resource update --set properties.…` command',
  },
  {
    file: 'src/configure/plan.ts',
    name: 'vnetImagePullEnabled',
    why: 'the remedy is an `az resource update` command',
  },
  {
    file: 'src/configure/plan.ts',
    name: 'azureADAuthenticationAsArmPolicy',
    why: 'the warning names the registry policy',
  },
  {
    file: 'src/configure/apply.ts',
    name: 'acrUseManagedIdentityCreds',
    why: 'AcrFlagNotApplied shows the values read back',
  },
  {
    file: 'src/configure/apply.ts',
    name: 'acrUserManagedIdentityID',
    why: 'AcrFlagNotApplied shows the values read back',
  },
  {
    file: 'src/configure/apply.ts',
    name: 'properties',
    why: 'the remedy is an `az resource update --set properties.…` command',
  },
  {
    file: 'src/run.ts',
    name: 'acrUseManagedIdentityCreds',
    why: 'the Observe log line shows the flag per target',
  },
  { file: 'src/report.ts', name: 'acrUseManagedIdentityCreds', why: "the summary table's column header" },
  {
    file: 'src/verify/verify.ts',
    name: 'acrUseManagedIdentityCreds',
    why: 'drift messages and remedies name the setting',
  },
  {
    file: 'src/verify/verify.ts',
    name: 'acrUserManagedIdentityID',
    why: 'drift messages and remedies name the setting',
  },
  {
    file: 'src/verify/classify.ts',
    name: 'acrUseManagedIdentityCreds',
    why: 'the remedy is an `az webapp config set` command',
  },
  {
    file: 'src/verify/classify.ts',
    name: 'acrUserManagedIdentityID',
    why: 'the remedy names the setting to check',
  },
  { file: 'src/verify/classify.ts', name: 'linuxFxVersion', why: 'the remedy says where the image is set' },
  { file: 'src/verify/classify.ts', name: 'windowsFxVersion', why: 'the remedy says where the image is set' },
  {
    file: 'src/registry/preflight.ts',
    name: 'acrUseManagedIdentityCreds',
    why: 'the verdict names the setting to check',
  },
  {
    file: 'src/registry/preflight.ts',
    name: 'acrUserManagedIdentityID',
    why: 'the verdict names the setting to check',
  },
  {
    file: 'src/registry/preflight.ts',
    name: 'linuxFxVersion',
    why: 'the message says where the image is set',
  },
  {
    file: 'src/registry/preflight.ts',
    name: 'windowsFxVersion',
    why: 'the message says where the image is set',
  },
  {
    file: 'src/auth/service-connection.ts',
    name: 'acrUseManagedIdentityCreds',
    why: 'the Azure Stack refusal names the missing feature',
  },
  {
    file: 'src/registry/image-check.ts',
    name: 'azureADAuthenticationAsArmPolicy',
    why: 'the skip reason names the registry policy',
  },
  {
    file: 'src/registry/preflight.ts',
    name: 'azureADAuthenticationAsArmPolicy',
    why: 'the cause names the registry policy',
  },
  {
    file: 'src/verify/classify.ts',
    name: 'azureADAuthenticationAsArmPolicy',
    why: 'the remedy names the registry policy',
  },
  {
    file: 'src/verify/classify.ts',
    name: 'vnetImagePullEnabled',
    why: 'the remedy names the setting to turn on',
  },
  {
    file: 'src/verify/classify.ts',
    name: 'outboundVnetRouting',
    why: 'the remedy names the setting to turn on',
  },
];

/** The ArmClient's raw calls: only src/arm/ sends them (and maps what comes back). */
const RAW_CALLS = ['request', 'listAll'];

/** Resource types that contain a wire name without being one. */
const RESOURCE_TYPES = /Microsoft\.ManagedIdentity\/userAssignedIdentities/gi;

interface Mention {
  readonly file: string;
  readonly name: string;
  readonly line: number;
  readonly kind: 'code' | 'text';
}

function coreFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) out.push(relative(TASK, path).split('\\').join('/'));
    }
  };
  walk(join(TASK, 'src'));
  return ['index.ts', ...out].filter((f) => !WIRE_LAYERS.some((layer) => layer.test(f))).sort();
}

/** Every wire name a file mentions outside comments: as code (an identifier) or inside a string or template. */
function mentionsIn(file: string, source: string): Mention[] {
  const out: Mention[] = [];
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, source);
  const lineOf = (pos: number) => source.slice(0, pos).split('\n').length;
  // Template literals: the scanner stops at `}`; re-scan it as a template continuation while inside one.
  const braces: ('template' | 'block')[] = [];
  const previous: string[] = [];
  for (let token = scanner.scan(); token !== ts.SyntaxKind.EndOfFileToken; token = scanner.scan()) {
    if (token === ts.SyntaxKind.OpenBraceToken) braces.push('block');
    if (token === ts.SyntaxKind.CloseBraceToken) {
      if (braces.pop() === 'template') token = scanner.reScanTemplateToken(false);
    }
    if (token === ts.SyntaxKind.TemplateHead || token === ts.SyntaxKind.TemplateMiddle)
      braces.push('template');
    const text = scanner.getTokenText();
    // `arm.request(...)` / `arm.listAll(...)`: a raw ARM call, whose answer is a wire shape.
    if (token === ts.SyntaxKind.Identifier && RAW_CALLS.includes(text) && previous.join('') === 'arm.')
      out.push({ file, name: `arm.${text}`, line: lineOf(scanner.getTokenStart()), kind: 'code' });
    previous.push(text);
    if (previous.length > 2) previous.shift();
    if (token === ts.SyntaxKind.Identifier || token === ts.SyntaxKind.PrivateIdentifier) {
      if (WIRE_NAMES.includes(text))
        out.push({ file, name: text, line: lineOf(scanner.getTokenStart()), kind: 'code' });
    } else if (
      token === ts.SyntaxKind.StringLiteral ||
      token === ts.SyntaxKind.NoSubstitutionTemplateLiteral ||
      token === ts.SyntaxKind.TemplateHead ||
      token === ts.SyntaxKind.TemplateMiddle ||
      token === ts.SyntaxKind.TemplateTail
    ) {
      const value = scanner.getTokenValue().replace(RESOURCE_TYPES, '');
      for (const name of WIRE_NAMES) {
        // A string that IS the name is a property key in disguise (`x['properties']`): code, never text.
        if (value === name) out.push({ file, name, line: lineOf(scanner.getTokenStart()), kind: 'code' });
        else if (new RegExp(`\\b${name}\\b`).test(value))
          out.push({ file, name, line: lineOf(scanner.getTokenStart()), kind: 'text' });
      }
    }
  }
  return out;
}

const allowed = (m: Mention) =>
  m.kind === 'text' && ALLOWED_IN_TEXT.some((a) => a.file === m.file && a.name === m.name);

describe('layers: only src/arm/ speaks ARM', () => {
  const files = coreFiles();
  const mentions = files.flatMap((f) => mentionsIn(f, readFileSync(join(TASK, f), 'utf8')));

  it('reads the core: observe, plan, apply, verify, report and run are all checked', () => {
    for (const f of [
      'src/configure/observe.ts',
      'src/configure/plan.ts',
      'src/configure/apply.ts',
      'src/run.ts',
    ])
      assert.ok(files.includes(f), f);
    for (const f of ['src/report.ts', 'src/verify/verify.ts', 'src/registry/preflight.ts', 'src/facts.ts'])
      assert.ok(files.includes(f), f);
    assert.ok(!files.some((f) => f.startsWith('src/arm/')));
  });

  it('no file outside src/arm/ names an ARM wire field in code, or sends a raw ARM request', () => {
    const code = mentions.filter((m) => m.kind === 'code');
    assert.deepEqual(
      code.map((m) => `${m.file}:${m.line} ${m.name}`),
      [],
      'map the field in src/arm/ and read the fact instead',
    );
  });

  it('names a wire field in text only where the allow-list says why', () => {
    const text = mentions.filter((m) => m.kind === 'text' && !allowed(m));
    assert.deepEqual(
      text.map((m) => `${m.file}:${m.line} ${m.name}`),
      [],
      'user-facing text that must name the field goes in ALLOWED_IN_TEXT with its reason',
    );
  });

  it('keeps the allow-list honest: every entry is still needed', () => {
    const unused = ALLOWED_IN_TEXT.filter(
      (a) => !mentions.some((m) => m.kind === 'text' && m.file === a.file && m.name === a.name),
    );
    assert.deepEqual(unused, []);
  });

  it('catches a wire field in code, a key in a string, a field in a template and a raw call, but not a comment', () => {
    const sample = [
      '// t.site.properties.siteConfig is fine in a comment',
      'const a = t.properties;',
      "const b = t['roleDefinitionId'];",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: TypeScript source, scanned as a sample
      'const c = `set ${x} acrUseManagedIdentityCreds=${y} now`;',
      "const d = 'nothing to see';",
      "const e = await ctx.arm.request('GET', path);",
    ].join('\n');
    assert.deepEqual(
      mentionsIn('sample.ts', sample).map((m) => `${m.line}:${m.kind}:${m.name}`),
      [
        '2:code:properties',
        '3:code:roleDefinitionId',
        '4:text:acrUseManagedIdentityCreds',
        '6:code:arm.request',
      ],
    );
  });
});
