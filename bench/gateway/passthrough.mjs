/** The floor for any Node proxy here: node:http + an undici Pool, forwarding and nothing else. */
import { createServer } from 'node:http';
import { Pool } from 'undici';

export function startPassthrough(upstream, port, onReady) {
  const pool = new Pool(upstream, { connections: 256, keepAliveTimeout: 30_000 });
  const server = createServer((req, res) => {
    pool
      .request({ path: req.url, method: req.method, headers: req.headers, body: req })
      .then((up) => {
        res.writeHead(up.statusCode, up.headers);
        up.body.pipe(res);
      })
      .catch(() => res.writeHead(502).end());
  });
  server.listen(port, '127.0.0.1', () => onReady(server.address().port));
}
