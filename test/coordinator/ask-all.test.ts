import { createServer, connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { askAll } from '../../coordinator/ask-all.ts';

/** Busy-waits `ms` on this thread: the event loop reads nothing meanwhile (as while a model is evaluated). */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('askAll', () => {
  it('an answer that reached the socket before the deadline counts, even when the event loop was busy past the deadline', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const { port } = server.address() as { port: number };
    const client = connect(port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const peer = await accepted;
    try {
      const replies = askAll(['a', 'late'], 40, (target, signal) =>
        target === 'late'
          ? new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('missed the deadline'))))
          : new Promise((resolve, reject) => {
              peer.once('data', (d) => resolve(d.toString()));
              signal.addEventListener('abort', () => reject(new Error('missed the deadline')));
            }),
      );
      // the answer is in the kernel at once; the loop is then blocked well past the 40 ms deadline
      client.write('answer');
      block(120);
      expect(await replies).toEqual([
        { target: 'a', value: 'answer' },
        { target: 'late', reason: 'missed the deadline', kind: 'other' },
      ]);
    } finally {
      client.destroy();
      peer.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
