/**
 * An HTTP CONNECT proxy for tests: what a corporate proxy in front of a self-hosted agent does, and a record of
 * what went through it. HTTPS clients ask it to `CONNECT host:port`; it (optionally) checks Basic proxy
 * credentials, answers 407 without them, and otherwise splices the client's socket to the target, so TLS stays
 * end to end (the proxy never sees a token). Plain-http requests in absolute form are forwarded too.
 *
 * `route` maps a virtual host to a local listener (e.g. `myacr.azurecr.io:443` → the emulator's registry port),
 * so a client can be pointed at a real-looking name without DNS.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';

export interface ProxyOptions {
  /** When set, every request must carry `Proxy-Authorization: Basic` with these credentials (else 407). */
  readonly credentials?: { readonly username: string; readonly password: string };
  /** Where to really connect for `host:port`; undefined = connect to `host:port` itself. */
  readonly route?: (host: string, port: number) => { host: string; port: number } | undefined;
  /** Default: any free port on 127.0.0.1. */
  readonly port?: number;
}

export interface ProxyRecord {
  /** `CONNECT`, or the method of a forwarded plain-http request. */
  readonly method: string;
  /** The host the client asked for (before any route). */
  readonly host: string;
  readonly port: number;
  /** Whether the request carried a Proxy-Authorization header at all. */
  readonly proxyAuthGiven: boolean;
  /** What the proxy answered: 200 when it connected, 407 without valid credentials, 502 when the target refused. */
  readonly status: number;
}

export interface TestProxy {
  /** `http://127.0.0.1:PORT` (no credentials in it). */
  readonly url: string;
  readonly port: number;
  /** Everything that went through, in order. */
  log(): ProxyRecord[];
  /** Distinct `host:port` the clients connected to (status 200). */
  targets(): string[];
  close(): Promise<void>;
}

export async function startProxy(options: ProxyOptions = {}): Promise<TestProxy> {
  const records: ProxyRecord[] = [];
  const sockets = new Set<Socket>();

  function authorized(req: IncomingMessage): { given: boolean; ok: boolean } {
    const header = req.headers['proxy-authorization'];
    const given = typeof header === 'string' && header.length > 0;
    if (!options.credentials) return { given, ok: true };
    const expected = `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString('base64')}`;
    return { given, ok: header === expected };
  }

  const server: Server = createServer((req, res) => {
    // A plain-http request in absolute form (`GET http://host/path`).
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end();
      return;
    }
    const port = Number(target.port || 80);
    const auth = authorized(req);
    if (!auth.ok) {
      records.push({
        method: req.method ?? 'GET',
        host: target.hostname,
        port,
        proxyAuthGiven: auth.given,
        status: 407,
      });
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test-proxy"' }).end();
      return;
    }
    const to = options.route?.(target.hostname, port) ?? { host: target.hostname, port };
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const upstream = httpRequest(
      {
        host: to.host,
        port: to.port,
        method: req.method,
        path: `${target.pathname}${target.search}`,
        headers,
      },
      (up) => {
        records.push({
          method: req.method ?? 'GET',
          host: target.hostname,
          port,
          proxyAuthGiven: auth.given,
          status: up.statusCode ?? 0,
        });
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      records.push({
        method: req.method ?? 'GET',
        host: target.hostname,
        port,
        proxyAuthGiven: auth.given,
        status: 502,
      });
      res.writeHead(502).end();
    });
    req.pipe(upstream);
  });

  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const [host = '', portText = '443'] = splitHostPort(req.url ?? '');
    const port = Number(portText);
    const auth = authorized(req);
    if (!auth.ok) {
      records.push({ method: 'CONNECT', host, port, proxyAuthGiven: auth.given, status: 407 });
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test-proxy"\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    const to = options.route?.(host, port) ?? { host, port };
    const upstream = connect(to.port, to.host, () => {
      records.push({ method: 'CONNECT', host, port, proxyAuthGiven: auth.given, status: 200 });
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => {
      if (
        !client.writableEnded &&
        !records.some((r) => r.host === host && r.port === port && r.status === 200)
      ) {
        records.push({ method: 'CONNECT', host, port, proxyAuthGiven: auth.given, status: 502 });
        client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
      } else client.destroy();
    });
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log: () => [...records],
    targets: () => [...new Set(records.filter((r) => r.status === 200).map((r) => `${r.host}:${r.port}`))],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** `host:port` or `[v6]:port`. */
function splitHostPort(authority: string): [string, string] {
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(authority);
  if (v6) return [v6[1] as string, v6[2] as string];
  const i = authority.lastIndexOf(':');
  return i < 0 ? [authority, '443'] : [authority.slice(0, i), authority.slice(i + 1)];
}
