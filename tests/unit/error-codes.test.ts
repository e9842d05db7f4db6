import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  PLAN_WARNING_CODES,
  TASK_ERROR_CODES,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/error-codes';

const root = join(__dirname, '..', '..');
const srcDir = join(root, 'tasks', 'EnsureAcrManagedIdentityPullV1', 'src');
const CATALOGUE = 'error-codes.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

/** Every source file but the catalogue itself, with its text. */
const sources = sourceFiles(srcDir)
  .filter((f) => !f.endsWith(`${join('src', CATALOGUE)}`))
  .map((f) => ({ file: f.slice(srcDir.length + 1), text: readFileSync(f, 'utf8') }));

const errorCodes = new Set(Object.keys(TASK_ERROR_CODES));
const warningCodes = new Set(Object.keys(PLAN_WARNING_CODES));

/** The docs' table rows: code -> the cells after it. */
function docRows(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of readFileSync(join(root, 'docs', 'errors.md'), 'utf8').split('\n')) {
    const m = /^\| `([A-Za-z_]+)` \|(.*)\|$/.exec(line);
    if (!m) continue;
    const cells = (m[2] as string).split(' | ').map((c) => c.trim());
    // A code may have a row in each table (a warning that can block is a task error too): keep both.
    const key = rows.has(m[1] as string) ? `${m[1]} (warning)` : (m[1] as string);
    rows.set(key, cells);
  }
  return rows;
}

describe('the error-code catalogue', () => {
  it('holds every code the source raises (new TaskError, code: fields)', () => {
    const raised = /new TaskError\(\s*'([^']+)'|\bcode: '([^']+)'/g;
    const unknown: string[] = [];
    for (const { file, text } of sources) {
      for (const m of text.matchAll(raised)) {
        const code = (m[1] ?? m[2]) as string;
        // `code:` in arm/ and http/ is Azure's or the transport's (ArmError OperationTimedOut, RestError ETIMEDOUT).
        if (m[2] && (file.startsWith('arm/') || file.startsWith('http/'))) continue;
        if (!errorCodes.has(code) && !warningCodes.has(code)) unknown.push(`${file}: ${code}`);
      }
    }
    assert.deepEqual(unknown, []);
  });

  it('lists no code the source never uses', () => {
    const all = sources.map((s) => s.text).join('\n');
    const unused = [...errorCodes, ...warningCodes].filter((code) => !all.includes(`'${code}'`));
    assert.deepEqual(unused, []);
  });

  it('keeps TaskError construction out of src/arm (it throws Azure errors only)', () => {
    const offenders = sources
      .filter((s) => s.file.startsWith('arm/') && /new TaskError\(|from '\.\.\/errors'/.test(s.text))
      .map((s) => s.file);
    assert.deepEqual(offenders, []);
  });

  it('turns Azure errors into TaskErrors in one place: the codes the phase mapper owns are raised nowhere else', () => {
    const owned = [
      'AzureRequestFailed',
      'ApiVersionNotOffered',
      'Unexpected',
      'AppNotFound',
      'AppAmbiguous',
      'IdentityNotFound',
      'IdentityWriteForbidden',
    ];
    const elsewhere = sources.flatMap(({ file, text }) =>
      file === 'phase-errors.ts'
        ? []
        : owned
            .filter((code) => new RegExp(`new TaskError\\(\\s*'${code}'`).test(text))
            .map((c) => `${file}: ${c}`),
    );
    assert.deepEqual(elsewhere, []);
  });

  it('lets only TaskError codes block (a blocking warning fails the run with its own code)', () => {
    for (const [code, entry] of Object.entries(PLAN_WARNING_CODES))
      if (entry.blocks) assert.ok(errorCodes.has(code), `${code} can block but is no TaskError code`);
  });

  it('documents every code in docs/errors.md with the catalogue meaning and phases, and nothing else', () => {
    const rows = docRows();
    for (const [code, entry] of Object.entries(TASK_ERROR_CODES)) {
      const cells = rows.get(code);
      assert.ok(cells, `docs/errors.md has no row for ${code}`);
      assert.equal(cells[0], entry.phases.join(', '), `phases of ${code}`);
      assert.equal(cells[1], entry.meaning, `meaning of ${code}`);
      assert.ok((cells[2] ?? '').length > 10, `what to do about ${code}`);
    }
    for (const [code, entry] of Object.entries(PLAN_WARNING_CODES)) {
      const cells = rows.get(errorCodes.has(code) ? `${code} (warning)` : code);
      assert.ok(cells, `docs/errors.md has no warning row for ${code}`);
      assert.equal(cells[0], entry.blocks ? 'yes' : 'no', `can ${code} block`);
      assert.equal(cells[1], entry.meaning, `meaning of warning ${code}`);
      assert.ok((cells[2] ?? '').length > 10, `what to do about warning ${code}`);
    }
    const documented = [...rows.keys()].map((k) => k.replace(/ \(warning\)$/, ''));
    const stale = documented.filter((c) => !errorCodes.has(c) && !warningCodes.has(c));
    assert.deepEqual(stale, [], 'docs/errors.md names codes the catalogue does not have');
  });

  it('is linked from the README', () => {
    assert.match(readFileSync(join(root, 'README.md'), 'utf8'), /\]\(docs\/errors\.md\)/);
  });
});
