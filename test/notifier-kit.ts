import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One request a {@link WebhookReceiver} got. */
export interface ReceivedRequest {
  path: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** The raw body as text. */
  body: string;
  /** The status answered; undefined while a request hangs. */
  status?: number;
}

/** What a route answers the n-th request (1-based) to it: a status (and body), or never. */
export type Responder = (n: number, req: ReceivedRequest) => { status: number; body?: string } | 'hang';

/**
 * A real HTTP server on loopback that records every request, answering each path as its
 * route says (default 200). Tests wait on requests with {@link WebhookReceiver.waitUntil},
 * which checks after every request and answer, never on a timer.
 */
export class WebhookReceiver {
  private readonly received: ReceivedRequest[] = [];
  private readonly routes = new Map<string, Responder>();
  private readonly sockets = new Set<Socket>();
  private readonly changed = new EventEmitter();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<WebhookReceiver> {
    const server = createServer();
    const r = new WebhookReceiver(server);
    server.on('connection', (s) => {
      r.sockets.add(s);
      s.on('close', () => r.sockets.delete(s));
    });
    server.on('request', (req, res) => void r.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  /** The URL of `path` on this server. */
  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  route(path: string, responder: Responder): void {
    this.routes.set(path, responder);
  }

  /** Requests so far, to `path` if given, oldest first. */
  requests(path?: string): ReceivedRequest[] {
    return this.received.filter((x) => path === undefined || x.path === path);
  }

  /** Resolves once `done()` holds (checked now and after every request and answer); rejects after `timeoutMs` naming `what`. */
  waitUntil(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; requests: ${JSON.stringify(this.received.map((x) => [x.path, x.status ?? 'open']))}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.changed.off('change', check);
      };
      this.changed.on('change', check);
      check();
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));
    const r: ReceivedRequest = { path: req.url ?? '', headers, body: Buffer.concat(chunks).toString('utf8') };
    this.received.push(r);
    const responder: Responder = this.routes.get(r.path) ?? (() => ({ status: 200 }));
    const answer = responder(this.requests(r.path).length, r);
    this.changed.emit('change');
    if (answer === 'hang') return;
    r.status = answer.status;
    res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body ?? '');
    this.changed.emit('change');
  }
}

/** One email an {@link SmtpSink} accepted. */
export interface ReceivedMail {
  from: string;
  to: string[];
  /** Unfolded headers, lower-case names. */
  headers: Record<string, string>;
  subject: string;
  /** The text body, transfer encoding (quoted-printable, base64) undone. */
  text: string;
}

/**
 * A real SMTP server (smtp-server) on loopback without TLS or authentication that keeps
 * every message; tests wait on messages with {@link SmtpSink.waitFor}.
 */
export class SmtpSink {
  readonly mails: ReceivedMail[] = [];
  private readonly changed = new EventEmitter();

  private constructor(private readonly server: SMTPServer, readonly port: number) {}

  static async start(): Promise<SmtpSink> {
    let sink: SmtpSink | undefined;
    const server = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'], authOptional: true, logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          sink?.add(Buffer.concat(chunks).toString('utf8'), session.envelope.mailFrom ? session.envelope.mailFrom.address : '', session.envelope.rcptTo.map((r) => r.address));
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;
    sink = new SmtpSink(server, port);
    return sink;
  }

  /** Resolves with the first mail for which `match` holds (now or later); rejects after `timeoutMs` naming `what`. */
  waitFor(what: string, match: (m: ReceivedMail) => boolean, timeoutMs: number): Promise<ReceivedMail> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = this.mails.find(match);
        if (!m) return;
        cleanup();
        resolve(m);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${this.mails.length} mails: ${this.mails.map((m) => `${m.to.join(',')} "${m.subject}"`).join('; ')}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.changed.off('mail', check);
      };
      this.changed.on('mail', check);
      check();
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private add(raw: string, from: string, to: string[]): void {
    const split = raw.indexOf('\r\n\r\n');
    const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
    const headers: Record<string, string> = {};
    for (const line of head.split('\r\n')) {
      const at = line.indexOf(':');
      if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
    }
    let body = raw.slice(split + 4);
    const encoding = (headers['content-transfer-encoding'] ?? '').toLowerCase();
    if (encoding === 'quoted-printable') {
      body = Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
    } else if (encoding === 'base64') {
      body = Buffer.from(body, 'base64').toString('utf8');
    }
    this.mails.push({ from, to, headers, subject: headers.subject ?? '', text: body.replace(/\r\n/g, '\n') });
    this.changed.emit('mail');
  }
}
