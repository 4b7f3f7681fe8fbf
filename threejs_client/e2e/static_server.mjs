// The small local file server the e2e scripts feed their pages from: a page at "/", folders under URL prefixes,
// and named files ("/avatar.vrm", "/file/0"), nothing else; on 127.0.0.1 at a free port.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html' };

/**
 * Serve `page` (HTML) at "/", each `roots` prefix from its folder (no ".." in paths) and each `files` entry
 * (URL path -> file, looked up when asked, so the map may grow after the server starts).
 * @param {{page: string, roots: Object<string, string>, files?: Object<string, string> | Map<string, string>}} site
 * @returns {Promise<import('node:http').Server>} listening
 */
export function serveStatic({ page, roots, files = {} }) {
  const named = (path) => (files instanceof Map ? files.get(path) : files[path]) ?? null;
  const server = createServer((request, reply) => {
    const path = decodeURIComponent(new URL(request.url, 'http://x').pathname);
    if (path === '/favicon.ico') {
      reply.writeHead(204);
      reply.end();
      return;
    }
    if (path === '/') {
      reply.writeHead(200, { 'content-type': 'text/html' });
      reply.end(page);
      return;
    }
    let file = named(path);
    for (const [prefix, root] of Object.entries(roots)) {
      if (path.startsWith(prefix) && !path.includes('..')) file = join(root, path.slice(prefix.length));
    }
    try {
      const body = readFileSync(file);
      reply.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream' });
      reply.end(body);
    } catch {
      reply.writeHead(404);
      reply.end();
    }
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}
