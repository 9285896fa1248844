import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { Metrics } from '../observability/metrics.js';

/**
 * What every component receives: how to log, what time it is and, in a process that
 * exports them, where its metrics go (absent in unit tests: nothing is recorded).
 */
export interface Base {
  logger: Logger;
  clock: Clock;
  metrics?: Metrics;
}
