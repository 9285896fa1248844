import { spawn } from 'node:child_process';

/** Runs the plain `curl` binary (HTTP/1.1, what a person types); `input` is piped to its stdin. */
export function curl(args: string[], input?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('curl', ['-s', '-o', '-', '-w', '\n%{http_code}', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => chunks.push(c));
    p.on('error', reject);
    p.on('close', () => {
      const out = Buffer.concat(chunks).toString();
      const i = out.lastIndexOf('\n');
      resolve({ status: Number(out.slice(i + 1)), body: out.slice(0, i) });
    });
    p.stdin.end(input ?? '');
  });
}

/** POSTs `body` (JSON, or a raw string) with the Connect protocol to `<baseUrl>/<method>` using curl. */
export async function connectJson(baseUrl: string, method: string, body: unknown): Promise<{ status: number; json: any }> {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  const r = await curl(['-H', 'content-type: application/json', '--data-binary', '@-', `${baseUrl}/${method}`], data);
  let json: unknown;
  try {
    json = r.body ? JSON.parse(r.body) : undefined;
  } catch {
    json = r.body;
  }
  return { status: r.status, json };
}
