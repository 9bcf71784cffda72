import { createServer, connect, type Server, type Socket } from 'node:net';

interface Pair {
  readonly client: Socket;
  upstream: Socket | undefined;
  /** Silent for good: nothing passes either way, and the sockets stay open. */
  dead: boolean;
}

/**
 * A TCP proxy in front of one stack service, for outage tests. Only the clients a test points
 * at the proxy see the outage; the shared stack, and the other test files using it, do not.
 *
 * - `cut()`: every connection through it closed, new ones refused (ECONNREFUSED), as when the
 *   server goes away on a host that is still up;
 * - `blackhole()`: every connection through it, and every new one, silent for good without
 *   being closed, as when the server's host is lost or a failover moves its address: nothing
 *   tells the client, which must notice on its own;
 * - `restore()`: new connections reach the server again (connections that were black-holed
 *   stay dead, as they would).
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  readonly #upstream: { host: string; port: number };
  #port = 0;
  #mode: 'up' | 'blackhole' = 'up';
  /** Connections accepted so far (a client reconnecting shows here). */
  accepted = 0;

  private constructor(upstream: { host: string; port: number }) {
    this.#upstream = upstream;
    this.#server = createServer((client) => this.#accept(client));
  }

  /** A proxy on a free local port in front of `host:port`. */
  static async start(host: string, port: number): Promise<TcpProxy> {
    const proxy = new TcpProxy({ host, port });
    await proxy.#listen(0);
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  /** Closes every connection through the proxy and stops listening. */
  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const pair of this.#pairs) this.#end(pair);
    await closed;
  }

  /** Every connection, open or new, silent and left open. */
  blackhole(): void {
    this.#mode = 'blackhole';
    for (const pair of this.#pairs) pair.dead = true;
  }

  /** New connections reach the server again (listening again after a cut). */
  async restore(): Promise<void> {
    this.#mode = 'up';
    if (!this.#server.listening) await this.#listen(this.#port);
  }

  async close(): Promise<void> {
    if (this.#server.listening) await this.cut();
    else for (const pair of this.#pairs) this.#end(pair);
  }

  async #listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
    this.#port = address.port;
  }

  #end(pair: Pair): void {
    this.#pairs.delete(pair);
    pair.client.destroy();
    pair.upstream?.destroy();
  }

  #accept(client: Socket): void {
    this.accepted += 1;
    const pair: Pair = { client, upstream: undefined, dead: this.#mode === 'blackhole' };
    this.#pairs.add(pair);
    client.on('error', () => this.#end(pair));
    client.on('close', () => this.#end(pair));
    // A dead pair swallows what the client sends (reading keeps its writes from backing up).
    client.on('data', (chunk: Buffer) => {
      if (!pair.dead) pair.upstream?.write(chunk);
    });
    if (pair.dead) return;
    client.pause();
    const upstream = connect(this.#upstream.port, this.#upstream.host, () => client.resume());
    pair.upstream = upstream;
    upstream.on('data', (chunk: Buffer) => {
      if (!pair.dead) client.write(chunk);
    });
    upstream.on('error', () => this.#end(pair));
    upstream.on('close', () => {
      // The server closing a live connection closes the client's; a dead pair tells it nothing.
      if (!pair.dead) this.#end(pair);
    });
  }
}
