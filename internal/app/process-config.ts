import { loadConfig, type Config } from '../config/config.js';
import { ConfigWatcher, type LiveHandlers } from '../config/config-watcher.js';
import { createLogger, type Logger } from '../shared/logger.js';
import type { RpcEdge } from './rpc-edge.js';

/** Exit status of a process whose configuration is invalid at start. */
export const EXIT_INVALID_CONFIG = 2;

/**
 * Loads a process's configuration at start (loadConfig: `defaults`, the file
 * TASKD_CONFIG_FILE names, `TASKD_*` variables). When it is invalid, writes one fatal
 * log line whose message names each bad setting and where it was written, and exits
 * with status 2 before anything has started.
 */
export function loadProcessConfig(name: string, defaults?: Record<string, string>): Config {
  try {
    return loadConfig(process.env, { defaults });
  } catch (e) {
    createLogger({ name }).fatal((e as Error).message);
    process.exit(EXIT_INVALID_CONFIG);
  }
}

/**
 * The config watcher of a taskd process (internal/config/config-watcher.ts), over the
 * environment it started with and the same `defaults`: SIGHUP reloads at once, the log
 * level is applied to `logger` (every child logger follows, pino children inherit it),
 * and `apply` handles the process's other live settings. Run it beside the process's
 * work under the same signal.
 */
export function watchProcessConfig(logger: Logger, config: Config, apply: LiveHandlers = {}, defaults?: Record<string, string>): ConfigWatcher {
  return new ConfigWatcher({ logger }, {
    env: process.env, defaults, config, sighup: true,
    apply: { TASKD_LOG_LEVEL: (c) => void (logger.level = c.TASKD_LOG_LEVEL), ...apply },
  });
}

/** Handlers applying the live limits (submission rate and burst, streams per identity) to an RPC edge. */
export function edgeLimitHandlers(edge: Pick<RpcEdge, 'setLimits'>): LiveHandlers {
  return { TASKD_SUBMIT_RATE: edge.setLimits, TASKD_SUBMIT_BURST: edge.setLimits, TASKD_MAX_STREAMS_PER_IDENTITY: edge.setLimits };
}
