/**
 * The output guard and the summary's escaping, as pure tables: `guardLine` (every stdout line passes it),
 * `md` (remote text as inert Markdown), `code` (remote text as a code span that cannot be closed early), and
 * `armPath` (names as ARM path segments that cannot add a segment, a query or a fragment).
 */
import assert from 'node:assert/strict';
import { guardLine } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/log';
import { code, md } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/report';
import { armPath } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/resource-id';

describe('guardLine (every line the task writes)', () => {
  const cases: [string, string, string][] = [
    ['plain text', 'Observe contoso-web', 'Observe contoso-web'],
    [
      'a remote ##vso command inside a line',
      'image a##vso[task.setvariable variable=x]y',
      'image a# #vso[task.setvariable variable=x]y',
    ],
    ['a remote ##[ at the start of a line', '##[error]forged', '# #[error]forged'],
    ['a command in any case', '##VSO[task.prependpath]/x', '# #VSO[task.prependpath]/x'],
    ['an ANSI escape', '\u001b[31mred\u001b[0m', 'red'],
    [
      "task-lib's own command keeps its prefix, its data is neutralised",
      '##vso[task.debug]GET x ##vso[task.complete result=Succeeded;]',
      '##vso[task.debug]GET x # #vso[task.complete result=Succeeded;]',
    ],
    [
      'a command with properties keeps them',
      '##vso[task.issue type=error;source=TaskInternal;]Azure said ##[error]x',
      '##vso[task.issue type=error;source=TaskInternal;]Azure said # #[error]x',
    ],
    [
      'a mask registration is passed as is',
      '##vso[task.setsecret]pa##vso[ss',
      '##vso[task.setsecret]pa##vso[ss',
    ],
    ['already neutralised text is unchanged', 'a # #vso[x', 'a # #vso[x'],
  ];
  for (const [what, line, want] of cases) it(what, () => assert.equal(guardLine(line), want));

  it('cuts a flood to a bounded line', () => {
    assert.ok(guardLine('A'.repeat(100_000)).length < 20_000);
  });
});

describe('md (remote text in the summary)', () => {
  const cases: [string, string, RegExp | string][] = [
    ['HTML is shown as text', '<img src=x onerror=y>', '&lt;img src=x onerror=y&gt;'],
    [
      'a Markdown link is not a link',
      '[click](https://evil.example)',
      '\\[click\\](https:\u200b//evil.example)',
    ],
    ['an image is not an image', '![i](x.png)', '!\\[i\\](x.png)'],
    ['a bare URL is not linked', 'see https://evil.example/x', 'see https:\u200b//evil.example/x'],
    ['a www host is not linked', 'www.evil.example', 'www\u200b.evil.example'],
    ['a pipe does not break the table', 'a | b\nc', 'a \\| b c'],
    ['emphasis and code marks are literal', '*a* _b_ `c`', '\\*a\\* \\_b\\_ \\`c\\`'],
    ['an agent command is neutralised', '##vso[task.setvariable variable=x]y', /^# #vso/],
    ['names stay readable', 'contoso-web', 'contoso-web'],
  ];
  for (const [what, text, want] of cases)
    it(what, () => (typeof want === 'string' ? assert.equal(md(text), want) : assert.match(md(text), want)));
});

describe('code (remote text in a code span)', () => {
  it('wraps plain text in single backticks', () =>
    assert.equal(code('contosoacr.azurecr.io'), '`contosoacr.azurecr.io`'));
  it('outruns the backticks inside, so the span cannot be closed early', () => {
    assert.equal(code('a`b``c'), '```a`b``c```');
  });
  it('pads text that starts or ends with a backtick', () => assert.equal(code('`x'), '`` `x ``'));
  it('keeps a table cell intact', () => assert.equal(code('a|b\nc'), '`a\\|b c`'));
});

describe('armPath (ARM paths from names)', () => {
  it('encodes every segment, so a name adds no segment, query or fragment', () => {
    assert.equal(
      armPath('subscriptions', 's', 'resourceGroups', 'a/b?c#d%2e'),
      '/subscriptions/s/resourceGroups/a%2Fb%3Fc%23d%252e',
    );
  });
  it('refuses dot and empty segments, which encoding cannot make inert', () => {
    for (const bad of ['.', '..', '']) assert.throws(() => armPath('subscriptions', bad), /may not be/);
  });
});
