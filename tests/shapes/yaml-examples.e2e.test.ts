/**
 * Every YAML example of the task in overview.md (the Marketplace page) and README.md, run against the emulator:
 * the inputs are read out of each `- task: EnsureAcrManagedIdentityPull@1` step, every name must be one task.json
 * declares, and the step must run to a non-failed result on an app shaped like the one it names. So an example
 * cannot rot: a renamed input, a removed value or a shape that stopped working fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import taskJson from '../../tasks/EnsureAcrManagedIdentityPullV1/task.json';
import { type Emulator, startEmulator } from '../emulator/index';
import { baseScenario } from '../emulator/scenario';
import { runScenario } from '../harness/scenario-runs';

const root = join(__dirname, '..', '..');
const TASK = /^(\s*)- task: EnsureAcrManagedIdentityPull@1\s*$/;

interface Example {
  file: string;
  line: number;
  inputs: Record<string, string>;
}

/** The task steps of every ```yaml block, with their inputs as written (comments dropped). */
function yamlExamples(file: string, text: string): Example[] {
  const out: Example[] = [];
  const lines = text.split('\n');
  let inYaml = false;
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] as string;
    if (/^```/.test(line)) {
      inYaml = !inYaml && /^```yaml\s*$/.test(line);
      continue;
    }
    const m = inYaml ? TASK.exec(line) : null;
    if (!m) continue;
    const stepIndent = (m[1] as string).length;
    const inputs: Record<string, string> = {};
    let inputsIndent: number | undefined;
    for (let j = i + 1; j < lines.length; j += 1) {
      const l = lines[j] as string;
      if (/^```/.test(l)) break;
      if (!l.trim() || l.trim().startsWith('#')) continue;
      const indent = l.length - l.trimStart().length;
      if (indent <= stepIndent) break; // the next step, or the end of the list
      if (/^\s*inputs:\s*$/.test(l)) {
        inputsIndent = indent;
        continue;
      }
      if (inputsIndent === undefined) continue;
      if (indent <= inputsIndent) {
        inputsIndent = undefined;
        continue;
      }
      const kv = /^\s*([A-Za-z]\w*):\s*(.*?)\s*(?:\s#.*)?$/.exec(l);
      if (kv) inputs[kv[1] as string] = (kv[2] as string).replace(/^['"]|['"]$/g, '');
    }
    out.push({ file, line: i + 1, inputs });
  }
  return out;
}

const examples = ['overview.md', 'README.md'].flatMap((f) =>
  yamlExamples(f, readFileSync(join(root, f), 'utf8')),
);
const declared = new Set((taskJson.inputs as { name: string }[]).map((i) => i.name));

/** An app name the example names literally, else the examples' usual one (`${{ app }}`, `$(appName)`). */
const appOf = (inputs: Record<string, string>) =>
  /^[a-z0-9][a-z0-9-]*[a-z0-9]$/i.test(inputs.appName ?? '') ? (inputs.appName as string) : 'contoso-web';

describe('every YAML example in overview.md and README.md runs against the emulator', function () {
  this.timeout(180_000);

  it('finds the examples (the extractor still reads the pages)', () => {
    assert.ok(
      examples.length >= 8,
      `found ${examples.length}: ${examples.map((e) => `${e.file}:${e.line}`)}`,
    );
    assert.ok(examples.some((e) => e.inputs.placement === 'beforeDeploy'));
    assert.ok(examples.some((e) => e.inputs.placement === 'afterDeploy'));
  });

  for (const example of examples) {
    const where = `${example.file}:${example.line}`;
    it(`${where}: ${JSON.stringify(example.inputs)}`, async () => {
      const unknown = Object.keys(example.inputs).filter((k) => !declared.has(k));
      assert.deepEqual(unknown, [], `${where} names inputs task.json does not declare`);
      const appName = appOf(example.inputs);
      const scenario = baseScenario({ appName, slots: ['staging'] });
      const site = scenario.sites?.[0];
      assert.ok(site);
      if (/func/.test(appName)) site.hosting = 'functionApp';
      const uami = /userAssignedIdentities\/([^/\s]+)$/.exec(
        example.inputs.userAssignedIdentityId ?? '',
      )?.[1];
      if (uami) scenario.identities = [{ name: uami, resourceGroup: 'rg-identity' }];
      let emulator: Emulator | undefined;
      try {
        emulator = await startEmulator({ scenario: { ...scenario, timeScale: 30 }, timeScale: 30 });
        const identityId = emulator.state.identities.find((i) => i.name === uami)?.id;
        const inputs: Record<string, string> = {
          ...example.inputs,
          appName,
          ...(identityId ? { userAssignedIdentityId: identityId } : {}),
          pollIntervalSeconds: '0.5',
          timeoutMinutes: '1',
        };
        const [run] = await runScenario(emulator, { ...scenario, inputs }, {});
        assert.ok(run);
        assert.ok(
          run.task.result === 'Succeeded' || run.task.result === 'SucceededWithIssues',
          `${where}: ${run.task.result}\n${run.task.message}`,
        );
      } finally {
        await emulator?.close();
      }
    });
  }
});
