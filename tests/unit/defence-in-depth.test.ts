/**
 * Issue 27's pure rules, as tables: the paging loop's bounds (paging.ts), the login-server rule and the
 * anchored ACR host check (http/guard.ts, configure/images.ts), and the one rule for names from responses
 * (response-names.ts).
 */
import assert from 'node:assert/strict';
import { isAcrHost } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/images';
import { isTaskError } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/errors';
import { acrSuffixOf, loginServerProblem } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/guard';
import { withDeadline } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/pipeline';
import {
  collectPages,
  type Page,
  type PageBounds,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/paging';
import {
  checkNameFromResponse,
  NAME_FROM_RESPONSE,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/response-names';

const BOUNDS: PageBounds = { maxPages: 5, maxItems: 10, maxBytes: 1000 };

/** A list served from `pages`; counts the pages requested. */
function served(pages: Page<number>[]) {
  let requested = 0;
  return {
    next: async () => pages[requested++],
    requested: () => requested,
  };
}

const page = (items: number[], nextLink?: string, bytes = 10): Page<number> => ({ items, nextLink, bytes });

async function listError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e: unknown) {
    assert.ok(isTaskError(e) && e.code === 'ListUnbounded', String(e));
    return e.message;
  }
  assert.fail('the list was not stopped');
}

describe('the paging loop (paging.ts)', () => {
  it('reads every page of a list that ends', async () => {
    const list = served([page([1, 2], 'a'), page([3], 'b'), page([4])]);
    assert.deepEqual(await collectPages('GET /x', list.next, { bounds: BOUNDS, now: () => 0 }), [1, 2, 3, 4]);
    assert.equal(list.requested(), 3);
  });

  const cases: { name: string; pages: Page<number>[]; why: RegExp; requested: number }[] = [
    {
      name: 'a page that links to itself: stopped at the second sight of the link',
      pages: [page([1], 'https://arm/x?$skiptoken=1'), page([1], 'https://ARM/x?$skiptoken=1')],
      why: /already read/,
      requested: 2,
    },
    {
      name: 'new links forever: stopped at the page cap',
      pages: Array.from({ length: 50 }, (_, i) => page([], `l${i}`)),
      why: /more than 5 pages/,
      requested: 5,
    },
    {
      name: 'too many items on one page: stopped before a single item is kept',
      pages: [page(Array.from({ length: 11 }, (_, i) => i))],
      why: /more than 10 items/,
      requested: 1,
    },
    {
      name: 'pages that weigh too much: stopped at the byte cap',
      pages: [page([1], 'a', 600), page([2], 'b', 600), page([3])],
      why: /weigh more than/,
      requested: 2,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const list = served(c.pages);
      assert.match(
        await listError(collectPages('GET /x', list.next, { bounds: BOUNDS, now: () => 0 })),
        c.why,
      );
      assert.equal(list.requested(), c.requested, 'no further page requested');
    });
  }

  it("stops at the run's deadline, before the next page", async () => {
    let now = 1000;
    const signal = withDeadline(undefined, 2000);
    let requested = 0;
    const next = async () => {
      requested++;
      now += 600;
      return page([], `l${requested}`);
    };
    const why = await listError(collectPages('GET /x', next, { bounds: BOUNDS, signal, now: () => now }));
    assert.match(why, /deadline/);
    assert.equal(requested, 2);
  });

  it('keeps two million items of one page without a stack overflow when the cap allows them', async () => {
    const big = new Array<number>(2_000_000).fill(0);
    const items = await collectPages('GET /x', served([page(big)]).next, {
      bounds: { maxPages: 1, maxItems: 2_000_000, maxBytes: Number.POSITIVE_INFINITY },
      now: () => 0,
    });
    assert.equal(items.length, 2_000_000);
  });
});

describe('login servers (http/guard.ts) and ACR hosts (configure/images.ts)', () => {
  const rows: [string, string, string | undefined, boolean][] = [
    ['contosoacr', 'contosoacr.azurecr.io', 'azurecr.io', true],
    ['contosoacr', 'CONTOSOACR.azurecr.io', 'azurecr.io', true],
    ['contosoacr', 'contosoacr-hvawabdbgge7e0fu.azurecr.io', 'azurecr.io', true],
    ['contosoacr', 'contosoacr.azurecr.io.evil.example', 'azurecr.io', false],
    ['contosoacr', 'evilcontosoacr.azurecr.io', 'azurecr.io', false],
    ['contosoacr', 'otheracr.azurecr.io', 'azurecr.io', false],
    ['contosoacr', 'contosoacr.azurecr.us', 'azurecr.io', false],
    ['contosoacr', 'contosoacr.azurecr.us', 'azurecr.us', true],
    ['contosoacr', 'contosoacr.azurecr.io:8443', 'azurecr.io', false],
    ['contosoacr', 'contosoacr.evil.example', 'azurecr.io', false],
    ['contosoacr', 'contosoacr.azurecr.io', undefined, false],
  ];
  for (const [name, loginServer, suffix, ok] of rows) {
    it(`${ok ? 'sends' : 'refuses'} a token to ${loginServer} for registry ${name} (suffix ${suffix})`, () => {
      const problem = loginServerProblem(name, loginServer, suffix);
      if (ok) assert.equal(problem, undefined);
      else assert.ok(problem?.includes(loginServer.slice(0, 40)), problem);
    });
  }

  it("names each named cloud's ACR suffix and none for another cloud", () => {
    assert.equal(acrSuffixOf('AzureCloud'), 'azurecr.io');
    assert.equal(acrSuffixOf('AzureUSGovernment'), 'azurecr.us');
    assert.equal(acrSuffixOf('AzureChinaCloud'), 'azurecr.cn');
    assert.equal(acrSuffixOf('AzureStack'), undefined);
  });

  const hosts: [string, boolean][] = [
    ['contosoacr.azurecr.io', true],
    ['contosoacr-abc123.azurecr.cn', true],
    ['contosoacr.azurecr.io.evil.example', false],
    ['contosoacr.azurecr.evil', false],
    ['contosoacr.azurecr.io:443', false],
    ['docker.io', false],
  ];
  for (const [host, ok] of hosts) {
    it(`${ok ? 'takes' : 'does not take'} ${host} for an ACR login server`, () => {
      assert.equal(isAcrHost(host), ok);
    });
  }
});

describe('names from responses (response-names.ts)', () => {
  const names: [string, boolean][] = [
    ['main', true],
    ['otel-collector_2.1', true],
    ['..', false],
    ['.', false],
    ['contoso-web/..', false],
    ['a%2f..', false],
    ['a?api-version=1', false],
    ['a#b', false],
    ['', false],
    ['x'.repeat(65), false],
  ];
  for (const [name, ok] of names) {
    it(`${ok ? 'accepts' : 'refuses'} '${name.slice(0, 20)}'`, () => {
      assert.equal(NAME_FROM_RESPONSE.test(name), ok);
      if (!ok)
        assert.throws(
          () => checkNameFromResponse(name, 'The sidecar list'),
          (e: unknown) => isTaskError(e) && e.code === 'UntrustedResponse',
        );
    });
  }
});
