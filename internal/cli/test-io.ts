import type { CliIo } from './cli-io.js';

/** A CliIo over strings, for running taskctl inside a test: what it wrote, and stdin from `input`. */
export function bufferIo(p: { input?: string; env?: Record<string, string>; tty?: boolean } = {}): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (out += s), isTTY: p.tty ?? false, columns: 100 },
    stderr: { write: (s: string) => (err += s) },
    stdin: (async function* () {
      if (p.input !== undefined) yield Buffer.from(p.input);
    })(),
    env: p.env ?? {},
    home: '/nonexistent-home',
  };
  return { io, out: () => out, err: () => err };
}
