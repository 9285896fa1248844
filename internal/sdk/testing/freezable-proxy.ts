import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy to `target` that can freeze: frozen, it stops moving bytes in both
 * directions but keeps every socket open, as a SIGSTOPped peer does.
 */
export class FreezableProxy {
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private frozen = false;

  private constructor(
    private readonly server: net.Server,
    readonly address: string,
  ) {}

  static async start(targetPort: number): Promise<FreezableProxy> {
    let self: FreezableProxy | undefined;
    const server = net.createServer((client) => self!.connect(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new FreezableProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  /** Stops forwarding on open connections; new connections are accepted but frozen too. */
  freeze(): void {
    this.frozen = true;
    for (const [a, b] of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
    }
  }

  /** Forwards again on connections opened from now on. */
  thaw(): void {
    this.frozen = false;
  }

  async close(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private connect(client: net.Socket, targetPort: number): void {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    if (this.frozen) return void client.pause();
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
