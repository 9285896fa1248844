/** A place taskctl writes to: process.stdout/stderr, or a buffer in tests. */
export interface Output {
  write(s: string): unknown;
  /** True when a person is watching (live redraws, progress bars). */
  isTTY?: boolean;
  /** Terminal width, when known. */
  columns?: number;
}

/** Everything taskctl touches of its process, so commands can run inside tests. */
export interface CliIo {
  stdout: Output;
  stderr: Output;
  /** Read for `--payload-file -` and `workflow submit -`. */
  stdin: AsyncIterable<Buffer | string>;
  env: Record<string, string | undefined>;
  /** The user's home directory (the default config file lives under it). */
  home: string;
}

/** Reads a whole stream (stdin) as UTF-8 text. */
export async function readAll(input: AsyncIterable<Buffer | string>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of input) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}
