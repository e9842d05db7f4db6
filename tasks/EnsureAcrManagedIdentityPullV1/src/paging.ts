/**
 * The one paging loop of the task: every list it reads (ARM `nextLink` lists through `listAll`, and the Azure SDK
 * pagers for slots, sidecars, role assignments and permissions) goes through `collectPages`, which stops a list
 * that does not end: a page cap, an item cap, a byte cap, a `nextLink` seen before, and the run's deadline (the
 * one the caller's AbortSignal carries, http/pipeline.ts `withDeadline`), checked before every page. Items are
 * appended one by one (a spread of a two-million-item page overflows the stack). Hand-written because the SDK
 * pagers follow `nextLink` without any of these bounds.
 */
import { TaskError } from './errors';
import { deadlineOf } from './http/pipeline';

export interface PageBounds {
  readonly maxPages: number;
  readonly maxItems: number;
  /** Response text summed over the pages (for SDK pages: their items as JSON). */
  readonly maxBytes: number;
}

/**
 * Far above what any list the task reads holds (a subscription has at most 4,000 role assignments; an app at most
 * 20 slots), far below what fills the agent's memory: 16 MiB of JSON is about 100 MB once parsed.
 */
export const LIST_BOUNDS: PageBounds = { maxPages: 200, maxItems: 50_000, maxBytes: 16 * 1024 * 1024 };

export interface Page<T> {
  readonly items: readonly T[];
  /** The next page's link; undefined (or empty) on the last page. */
  readonly nextLink: string | undefined;
  /** A function when measuring costs work: it is called only once the page passed the item cap. */
  readonly bytes: number | (() => number);
}

export interface CollectOptions {
  /** Carries the run's deadline; aborting it cancels the page in flight (the fetcher's business). */
  readonly signal?: AbortSignal | undefined;
  readonly bounds?: PageBounds;
  /** The run's clock (the ArmClient's): the deadline is judged on the same timeline as every other wait. */
  readonly now: () => number;
}

/**
 * All items of the list `what` (e.g. `GET /subscriptions/.../slots`), page by page from `next` (undefined when
 * there is no further page), or a TaskError `ListUnbounded` as soon as one bound is crossed: no further request.
 */
export async function collectPages<T>(
  what: string,
  next: () => Promise<Page<T> | undefined>,
  options: CollectOptions,
): Promise<T[]> {
  const bounds = options.bounds ?? LIST_BOUNDS;
  const { now } = options;
  const deadline = deadlineOf(options.signal);
  const items: T[] = [];
  const seen = new Set<string>();
  let bytes = 0;
  for (let pages = 0; ; ) {
    if (now() >= deadline) throw unbounded(what, `the run's deadline passed after ${pages} page(s)`);
    const page = await next();
    if (!page) return items;
    pages++;
    if (items.length + page.items.length > bounds.maxItems)
      throw unbounded(what, `it holds more than ${bounds.maxItems} items`);
    bytes += typeof page.bytes === 'function' ? page.bytes() : page.bytes;
    if (bytes > bounds.maxBytes)
      throw unbounded(what, `its pages weigh more than ${Math.round(bounds.maxBytes / 1024 / 1024)} MiB`);
    for (const item of page.items) items.push(item);
    const link = page.nextLink;
    if (!link) return items;
    const key = normalisedLink(link);
    if (seen.has(key)) throw unbounded(what, `page ${pages} links to a page it already read`);
    seen.add(key);
    if (pages >= bounds.maxPages) throw unbounded(what, `it has more than ${bounds.maxPages} pages`);
  }
}

/**
 * The pages of an Azure SDK pager (`pager.byPage()`), for `collectPages`: each call reads one page, so a list
 * stopped by a bound sends no further request. `linkOf` reads a page's continuation (the modular clients set
 * `page.continuationToken`; the older ones keep it in their `getContinuationToken`).
 */
export function sdkPages<T>(
  pages: AsyncIterator<T[]>,
  linkOf: (page: T[]) => string | undefined = (page) =>
    (page as { continuationToken?: unknown }).continuationToken as string | undefined,
): () => Promise<Page<T> | undefined> {
  return async () => {
    const r = await pages.next();
    if (r.done || !Array.isArray(r.value)) return undefined;
    const page = r.value;
    return { items: page, nextLink: linkOf(page), bytes: () => jsonLength(page) };
  };
}

/** The JSON length of a page, item by item (bounded by the item cap checked before, never one huge string). */
function jsonLength(items: readonly unknown[]): number {
  let n = 2;
  for (const item of items) n += (JSON.stringify(item) ?? '').length + 1;
  return n;
}

/** Two spellings of one link (case, an order of the query) are one link. */
function normalisedLink(link: string): string {
  try {
    const url = new URL(link, 'https://list.invalid/');
    const query = [...url.searchParams.entries()]
      .map(([k, v]) => `${k.toLowerCase()}=${v}`)
      .sort()
      .join('&');
    return `${url.host.toLowerCase()}${url.pathname.toLowerCase().replace(/\/+$/, '')}?${query}`;
  } catch {
    return link;
  }
}

function unbounded(what: string, why: string): TaskError {
  return new TaskError('ListUnbounded', `Stopped reading ${what}: ${why}. No further page was requested.`, {
    remedy:
      'Azure (or a proxy in between) answered with a list that does not end. Run the task again; if it persists, ' +
      'open an Azure support case with the debug log (system.debug=true), which names each page read.',
  });
}
