import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

/** What every component receives: how to log and what time it is. */
export interface Base {
  logger: Logger;
  clock: Clock;
}
