/**
 * Preloaded (`--import`) into every process that test/procs.ts spawns. The test
 * process holds the other end of this process's stdin pipe; when that end closes
 * the test process is gone (even if it was SIGKILLed and ran no exit hook), so
 * this process kills itself rather than live on as an orphan holding ports.
 * The stdin handle is unreferenced so it never keeps the process alive.
 */
if (!process.stdin.isTTY) {
  process.stdin.on('end', () => process.kill(process.pid, 'SIGKILL'));
  process.stdin.on('error', () => process.kill(process.pid, 'SIGKILL'));
  process.stdin.resume();
  (process.stdin as unknown as { unref?: () => void }).unref?.();
}

export {};
