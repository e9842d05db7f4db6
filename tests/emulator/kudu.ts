/**
 * What an app's two extra hosts answer. The SCM (Kudu) host serves the docker log listing and files (facts
 * §2.1) to callers server.ts has already authenticated; the site host wakes a pending start and answers 200
 * while the container runs, 503 while it starts or has failed, 403 when the app is stopped.
 */
import { kuduTimestamp, latestLogFiles, logFiles } from './log-files';
import type { App } from './model';
import type { Platform } from './platform';
import { canPerform } from './roles';
import type { HttpReply, RouteContext } from './router';
import { zipFiles } from './routes/zip';

export function handleSite(app: App, platform: Platform, method: string): HttpReply {
  if (method !== 'HEAD') platform.hit(app);
  else platform.advance(app);
  const status = platform.siteStatus(app);
  if (status === 200)
    return {
      status,
      headers: { 'content-type': 'text/html' },
      body: '<html><body>Hello from the container</body></html>',
    };
  if (status === 403) return { status, body: 'Error 403 - This web app is stopped.' };
  return { status, body: 'Service Unavailable: the application is starting or failed to start.' };
}

function requirePublishRight(ctx: RouteContext, app: App): HttpReply | undefined {
  const caller = ctx.caller;
  if (!caller || caller.objectId.startsWith('basic:')) return undefined;
  const action = app.slot ? 'Microsoft.Web/sites/slots/publish/action' : 'Microsoft.Web/sites/publish/action';
  if (canPerform(ctx.state, caller.objectId, action, app.id)) return undefined;
  return {
    status: 403,
    body: '403 - Forbidden: the caller lacks Microsoft.Web/sites/publish/action on this app.',
  };
}

/** Kudu `Range: bytes=N-` (or `N-M`): 206 with the slice, 416 when N is past the end. */
function ranged(ctx: RouteContext, content: Buffer, lastModified: number): HttpReply {
  const headers = {
    'content-type': 'text/plain; charset=utf-8',
    'last-modified': new Date(lastModified).toUTCString(),
    'accept-ranges': 'bytes',
  };
  const range = ctx.headers.range;
  const m = typeof range === 'string' ? /^bytes=(\d+)-(\d*)$/.exec(range.trim()) : null;
  if (!m) return { status: 200, headers, body: content };
  const start = Number(m[1]);
  const end = m[2] ? Math.min(Number(m[2]), content.length - 1) : content.length - 1;
  if (start >= content.length) {
    return { status: 416, headers: { ...headers, 'content-range': `bytes */${content.length}` }, body: '' };
  }
  return {
    status: 206,
    headers: { ...headers, 'content-range': `bytes ${start}-${end}/${content.length}` },
    body: content.subarray(start, end + 1),
  };
}

export function handleKudu(ctx: RouteContext): HttpReply {
  const app = ctx.app;
  if (!app) return { status: 500, body: 'no app' };
  const denied = requirePublishRight(ctx, app);
  if (denied) return denied;
  const scm = ctx.appUrl(app, 'scm');
  const now = ctx.now();
  const p = ctx.lowerPath;
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return { status: 405, body: 'Method not allowed' };
  if (p === '/api/logs/docker') {
    return {
      status: 200,
      body: latestLogFiles(app, now).map((f) => ({
        machineName: f.machineName,
        lastUpdated: kuduTimestamp(f.lastUpdated),
        size: Buffer.byteLength(f.content),
        href: `${scm}/api/vfs/LogFiles/${f.name}`,
        path: `/home/LogFiles/${f.name}`,
      })),
    };
  }
  if (p === '/api/logs/docker/zip') {
    const files = latestLogFiles(app, now);
    const stamp = new Date(now).toISOString().slice(5, 19).replace(/[T:]/g, '-');
    return {
      status: 200,
      headers: {
        'content-type': 'application/zip',
        'content-disposition': `attachment; filename=dockerlogs-${stamp}.zip`,
      },
      body: zipFiles(files.map((f) => ({ name: f.name, content: f.content, at: f.lastUpdated }))),
    };
  }
  if (p === '/api/vfs/logfiles' || p === '/api/vfs/logfiles/') {
    return {
      status: 200,
      body: logFiles(app, now).map((f) => ({
        name: f.name,
        size: Buffer.byteLength(f.content),
        mtime: kuduTimestamp(f.lastUpdated),
        crtime: kuduTimestamp(f.lastUpdated),
        mime: 'text/plain',
        href: `${scm}/api/vfs/LogFiles/${f.name}`,
        path: `/home/LogFiles/${f.name}`,
      })),
    };
  }
  const file = /^\/api\/vfs\/logfiles\/([^/]+)$/.exec(p)?.[1];
  if (file) {
    const f = logFiles(app, now).find((x) => x.name.toLowerCase() === file);
    if (!f) return { status: 404, body: `'/home/LogFiles/${file}' not found.` };
    return ranged(ctx, Buffer.from(f.content), f.lastUpdated);
  }
  if (p === '/' || p === '/api/settings') return { status: 200, body: { 'emulated-kudu': 'true' } };
  return { status: 404, body: `No Kudu route ${ctx.method} ${ctx.path}` };
}
