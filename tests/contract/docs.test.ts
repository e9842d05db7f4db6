import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');
const taskJson = JSON.parse(read('tasks/EnsureAcrManagedIdentityPullV1/task.json'));
const overview = read('overview.md');
const readme = read('README.md');

describe('the docs', () => {
  it('document every task input in the Marketplace page', () => {
    for (const input of taskJson.inputs as { name: string }[]) {
      assert.match(
        overview,
        new RegExp(`^\\| \`${input.name}\` \\|`, 'm'),
        `overview.md has no row for input '${input.name}'`,
      );
    }
  });

  it('document every output variable in the Marketplace page', () => {
    for (const output of taskJson.outputVariables as { name: string }[]) {
      assert.match(
        overview,
        new RegExp(`^\\| \`${output.name}\` \\|`, 'm'),
        `overview.md has no row for output '${output.name}'`,
      );
    }
  });

  it('give the default of every input as task.json declares it', () => {
    for (const input of taskJson.inputs as { name: string; defaultValue?: string; required?: boolean }[]) {
      const row = new RegExp(`^\\| \`${input.name}\` \\| ([^|]+) \\|`, 'm').exec(overview)?.[1]?.trim();
      const expected = input.required
        ? '(required)'
        : input.defaultValue
          ? `\`${input.defaultValue}\``
          : 'empty';
      assert.equal(row, expected, `default of '${input.name}'`);
    }
  });

  it('show the two commands a fresh clone needs, and CI runs the same test command in a standalone clone', () => {
    assert.ok(readme.includes('npm ci && npm run demo'));
    assert.ok(readme.includes('npm test'));
    const ci = read('.ci/run');
    assert.match(ci, /^git clone .*"\$work\/repo"$/m, 'CI clones HEAD into a fresh folder');
    assert.match(ci, /^npm ci\b[^\n]*$[\s\S]*^TMPDIR="\$tests_tmp" (TSX_DISABLE_CACHE=1 )?npm test$/m);
    assert.match(
      ci,
      /left_tmp="\$\(left_in "\$tests_tmp"\)"/,
      'CI checks that npm test left its temporary folder empty',
    );
    assert.match(
      ci,
      /^TMPDIR="\$tests_tmp" (TSX_DISABLE_CACHE=1 )?npm run bench -- --quick$/m,
      'the benchmark is its own CI step',
    );
  });

  it('show how to read the outputs in later steps, jobs, deployment jobs, stages and the classic editor', () => {
    const outputs = new Set((taskJson.outputVariables as { name: string }[]).map((o) => o.name));
    const forms = [
      /\$\(ensurePull\.(\w+)\)/, // later steps
      /\$\[ dependencies\.ensure\.outputs\['ensurePull\.(\w+)'\] \]/, // later job
      /\$\[ dependencies\.(\w+)\.outputs\['\1\.ensurePull\.(\w+)'\] \]/, // deployment job: <job>.<step>.<var>
      /\$\[ stageDependencies\.Prepare\.ensure\.outputs\['ensurePull\.(\w+)'\] \]/, // later stage
      /\$\[ stageDependencies\.Prepare\.(\w+)\.outputs\['\1\.ensurePull\.(\w+)'\] \]/, // later stage, deployment job
      /dependencies\.Prepare\.outputs\['ensure\.ensurePull\.(\w+)'\]/, // stage condition
    ];
    for (const form of forms) {
      const m = form.exec(overview);
      assert.ok(m, `overview.md shows no ${form}`);
      assert.ok(outputs.has(m[m.length - 1] as string), `${m[0]} names an output the task does not set`);
    }
    assert.match(
      overview,
      /\*\*Reference name\*\*[^\n]*`ensurePull`/,
      'classic editor: Output Variables > Reference name',
    );
    // The deployment-job example must be valid YAML for Azure Pipelines: `deploy` is reserved as a job name.
    const job = /- deployment: (\w+)/.exec(overview)?.[1];
    assert.ok(job && job !== 'deploy', `deployment job name '${job}'`);
    assert.ok(
      overview.includes(`stageDependencies.Prepare.${job}.outputs['${job}.ensurePull.`),
      'example reads its own job',
    );
    assert.match(
      overview,
      /task: EnsureAcrManagedIdentityPull@1\n\s+name: ensurePull/,
      'the example names the step',
    );
  });

  it('tell classic users when the Resource group is needed (the slot picker lists by it)', () => {
    const slots = (
      taskJson.dataSourceBindings as { target: string; parameters?: Record<string, string> }[]
    ).find((b) => b.target === 'slotNames');
    assert.equal(slots?.parameters?.ResourceGroupName, '$(resourceGroupName)');
    assert.doesNotMatch(overview, /Leave \*\*Resource group\*\* empty to look it up\./);
    assert.match(overview, /\*\*Resource group\*\*: pick it when you want to choose slots from a list/);
  });

  it('link help to sections of the Marketplace page that exist (the README is not in the .vsix)', () => {
    const anchors = new Set(
      [...overview.matchAll(/^#+ (.+)$/gm)].map((m) =>
        (m[1] as string)
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    const sources = [
      read('tasks/EnsureAcrManagedIdentityPullV1/task.json'),
      read('tasks/EnsureAcrManagedIdentityPullV1/src/help.ts'),
    ].join('\n');
    assert.doesNotMatch(read('tasks/EnsureAcrManagedIdentityPullV1/task.json'), /README/);
    const linked = [...sources.matchAll(/itemName=[\w.-]+#([\w-]+)/g)].map((m) => m[1] as string);
    const typed = /'([a-z-]+)'(?=\s*\|| *;)/g;
    for (const m of read('tasks/EnsureAcrManagedIdentityPullV1/src/help.ts').matchAll(typed))
      linked.push(m[1] as string);
    assert.ok(linked.length >= 3, linked.join(', '));
    for (const anchor of linked) assert.ok(anchors.has(anchor), `no heading for #${anchor} in overview.md`);
  });

  it('state the prerequisites and the publishing steps a first publisher needs', () => {
    assert.match(readme, /\*\*Prerequisites\.\*\* Node\.js 20 or newer/);
    assert.match(readme, /Linux, macOS or Windows, x64 or arm64/);
    assert.match(readme, /\*\*Create the publisher first\*\*/);
    assert.match(readme, /\*\*All\s+accessible organizations\*\*/);
    assert.match(readme, /Marketplace > Publish/);
  });

  it('show a YAML example that runs before AzureWebAppContainer@1 and keeps the flag on', () => {
    assert.match(overview, /task: EnsureAcrManagedIdentityPull@1[\s\S]*task: AzureWebAppContainer@1/);
    assert.ok(overview.includes('configurationStrings: -acrUseManagedIdentityCreds true'));
  });
});
