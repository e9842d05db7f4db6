/**
 * Time is one port: the task reads the time and sets timers only through its `Clock` (src/clock.ts), so a test can
 * run it on the emulator's clock and a run is judged on one timeline. This test reads every source file of the task
 * with TypeScript's scanner and fails on any `Date.now`, `new Date()` without arguments, `performance.now`,
 * `setTimeout`, `setInterval`, `setImmediate` or `AbortSignal.timeout` outside src/clock.ts. Comments and strings
 * are free to name them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const TASK = join(__dirname, '..', '..', 'tasks', 'EnsureAcrManagedIdentityPullV1');

/** The one module that may touch real time. */
const CLOCK_MODULE = 'src/clock.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Each use of the real clock in `text`: `what` and the 1-based line. */
function realTimeUses(text: string): { what: string; line: number }[] {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const tokens: { kind: ts.SyntaxKind; text: string; pos: number }[] = [];
  // A `}` that closes a template's `${...}` goes back into the template (the scanner needs to be told).
  const templates: number[] = [];
  let braces = 0;
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind === ts.SyntaxKind.TemplateHead) templates.push(braces);
    else if (kind === ts.SyntaxKind.OpenBraceToken) braces++;
    else if (kind === ts.SyntaxKind.CloseBraceToken) {
      if (templates.at(-1) === braces) {
        kind = scanner.reScanTemplateToken(false);
        if (kind === ts.SyntaxKind.TemplateTail) templates.pop();
      } else braces--;
    }
    tokens.push({ kind, text: scanner.getTokenText(), pos: scanner.getTokenStart() });
  }
  const lineOf = (pos: number) => text.slice(0, pos).split('\n').length;
  const uses: { what: string; line: number }[] = [];
  const ident = (i: number, name: string) =>
    tokens[i]?.kind === ts.SyntaxKind.Identifier && tokens[i]?.text === name;
  const dot = (i: number) => tokens[i]?.kind === ts.SyntaxKind.DotToken;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as (typeof tokens)[number];
    if (t.kind !== ts.SyntaxKind.Identifier) continue;
    const member = (object: string, name: string) => t.text === object && dot(i + 1) && ident(i + 2, name);
    if (['setTimeout', 'setInterval', 'setImmediate'].includes(t.text))
      uses.push({ what: t.text, line: lineOf(t.pos) });
    else if (member('Date', 'now')) uses.push({ what: 'Date.now', line: lineOf(t.pos) });
    else if (member('AbortSignal', 'timeout'))
      uses.push({ what: 'AbortSignal.timeout', line: lineOf(t.pos) });
    else if (member('performance', 'now')) uses.push({ what: 'performance.now', line: lineOf(t.pos) });
    else if (
      t.text === 'Date' &&
      tokens[i - 1]?.kind === ts.SyntaxKind.NewKeyword &&
      (tokens[i + 1]?.kind !== ts.SyntaxKind.OpenParenToken ||
        tokens[i + 2]?.kind === ts.SyntaxKind.CloseParenToken)
    )
      uses.push({ what: 'new Date()', line: lineOf(t.pos) });
  }
  return uses;
}

describe('contract: one clock', () => {
  it('finds every way of reading real time (the detector itself)', () => {
    const sample = [
      'const a = Date.now();',
      'setTimeout(() => {}, 1);',
      'const t = setInterval(f, 5);',
      'const s = AbortSignal.timeout(100);',
      'const d = new Date();',
      'const e = new Date;',
      'const p = performance.now();',
      'globalThis.setImmediate(f);',
      '// Date.now() in a comment is fine',
      "const text = 'setTimeout in a string is fine';",
      'const t = `$' + '{a} setTimeout $' + '{b} Date.now()`; setInterval(g, 1);',
      'const parsed = new Date(value); const at = Date.parse(x); const utc = Date.UTC(2026, 1, 1);',
    ].join('\n');
    assert.deepEqual(
      realTimeUses(sample).map((u) => `${u.line}:${u.what}`),
      [
        '1:Date.now',
        '2:setTimeout',
        '3:setInterval',
        '4:AbortSignal.timeout',
        '5:new Date()',
        '6:new Date()',
        '7:performance.now',
        '8:setImmediate',
        '11:setInterval',
      ],
    );
  });

  it(`no file of the task's source but ${CLOCK_MODULE} reads the time or sets a timer`, () => {
    const files = sourceFiles(TASK);
    assert.ok(
      files.some((f) => f.endsWith(join('src', 'main.ts'))),
      'the task source was found',
    );
    const offences = files
      .map((f) => ({ file: relative(TASK, f).split('\\').join('/'), text: readFileSync(f, 'utf8') }))
      .filter((f) => f.file !== CLOCK_MODULE)
      .flatMap((f) => realTimeUses(f.text).map((u) => `${f.file}:${u.line} ${u.what}`));
    assert.deepEqual(offences, [], `use the run's Clock (src/clock.ts) instead:\n${offences.join('\n')}`);
  });

  it(`${CLOCK_MODULE} is where the system clock lives`, () => {
    const uses = realTimeUses(readFileSync(join(TASK, CLOCK_MODULE), 'utf8')).map((u) => u.what);
    assert.ok(uses.includes('Date.now') && uses.includes('setTimeout'), uses.join(', '));
  });
});
