import { homedir } from 'node:os';
import { runTaskctl } from '../../internal/cli/run.js';

// `taskctl list | head` closes stdout early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => process.exit(e.code === 'EPIPE' ? 0 : 1));

const code = await runTaskctl(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  home: homedir(),
});
// Writes to pipes, files and terminals are synchronous on Linux: nothing is lost by exiting now,
// and exiting does not wait for idle HTTP/2 sessions to time out.
process.exit(code);
