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

  it('show the two commands a fresh clone needs, and CI runs the same test command', () => {
    assert.ok(readme.includes('npm ci && npm run demo'));
    assert.ok(readme.includes('npm test'));
    assert.match(read('.ci/run'), /^npm ci\b.*$\n^npm test$/m);
  });

  it('show a YAML example that runs before AzureWebAppContainer@1 and keeps the flag on', () => {
    assert.match(overview, /task: EnsureAcrManagedIdentityPull@1[\s\S]*task: AzureWebAppContainer@1/);
    assert.ok(overview.includes('configurationStrings: -acrUseManagedIdentityCreds true'));
  });
});
