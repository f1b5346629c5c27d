import * as http from 'http';
import type { AddressInfo } from 'net';
import { UpstreamAgent } from '../constructs/runtime/backend';

/** An in-process HTTP server counting the connections it accepted. */
async function server(keepAliveTimeoutMs: number): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const s = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(`${req.method} ${req.url}`));
  });
  s.keepAliveTimeout = keepAliveTimeoutMs;
  s.on('connection', () => connections++);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return {
    port: (s.address() as AddressInfo).port,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        s.close(() => r());
        s.closeAllConnections();
      }),
  };
}

function get(agent: http.Agent, port: number, path: string): Promise<{ status: number; body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: ['host', `127.0.0.1:${port}`, 'content-length', '2'] as unknown as http.OutgoingHttpHeaders,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket }));
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
}

describe('UpstreamAgent', () => {
  test('reuses one keep-alive socket for sequential requests and answers each one', async () => {
    const s = await server(5000);
    const agent = new UpstreamAgent({ keepAlive: true, maxSockets: 8, scheduling: 'lifo' });
    try {
      const answers = [];
      for (let i = 0; i < 20; i++) answers.push(await get(agent, s.port, `/r/${i}`));
      expect(answers.map((a) => a.body)).toEqual(Array.from({ length: 20 }, (_, i) => `POST /r/${i}`));
      expect(answers[0].reused).toBe(false);
      expect(answers.slice(1).every((a) => a.reused)).toBe(true);
      expect(s.connections()).toBe(1);
    } finally {
      agent.destroy();
      await s.close();
    }
  });

  test('concurrent requests open up to maxSockets connections, then reuse them', async () => {
    const s = await server(5000);
    const agent = new UpstreamAgent({ keepAlive: true, maxSockets: 4, scheduling: 'lifo' });
    try {
      for (let round = 0; round < 5; round++) {
        const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => get(agent, s.port, `/c/${round}/${i}`)));
        expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
        expect(answers.map((a) => a.body)).toEqual(Array.from({ length: 10 }, (_, i) => `POST /c/${round}/${i}`));
      }
      expect(s.connections()).toBe(4);
    } finally {
      agent.destroy();
      await s.close();
    }
  });

  test('does not keep a socket whose server announces a keep-alive timeout of 1 s (as Node does)', async () => {
    // Node announces Keep-Alive: timeout=1; the agent stops reusing a second before, i.e. at once
    const s = await server(1000);
    const agent = new UpstreamAgent({ keepAlive: true, maxSockets: 8, scheduling: 'lifo' });
    try {
      for (let i = 0; i < 3; i++) expect((await get(agent, s.port, '/x')).reused).toBe(false);
      expect(s.connections()).toBe(3);
    } finally {
      agent.destroy();
      await s.close();
    }
  });

  test('a socket closed by the server while idle is replaced', async () => {
    const s = await server(5000);
    const agent = new UpstreamAgent({ keepAlive: true, maxSockets: 8, scheduling: 'lifo' });
    try {
      await get(agent, s.port, '/a');
      for (const list of Object.values(agent.freeSockets)) for (const sock of list ?? []) sock.destroy();
      const b = await get(agent, s.port, '/b');
      expect(b).toEqual({ status: 200, body: 'POST /b', reused: false });
      expect(s.connections()).toBe(2);
    } finally {
      agent.destroy();
      await s.close();
    }
  });
});
