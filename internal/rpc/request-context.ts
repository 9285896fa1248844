import { createContextKey, type HandlerContext } from '@connectrpc/connect';
import { v7 as uuidv7 } from 'uuid';
import type { Logger } from '../shared/logger.js';

/** The header (gRPC metadata key) carrying a request's correlation id, both ways. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** One request as handlers see it: its correlation id and a logger whose lines carry it. */
export interface RequestInfo {
  /** The client's `x-request-id` when sane, else one the server generated (a UUIDv7). */
  id: string;
  /** The process logger with `requestId` (and `traceId` when traced) on every line. */
  logger: Logger;
}

/** Where the request interceptor leaves {@link RequestInfo} for handlers. */
export const REQUEST = createContextKey<RequestInfo | undefined>(undefined, { description: 'taskd request id and logger' });

const SANE = /^[A-Za-z0-9._:/=-]{1,128}$/;

/**
 * `value` when it may serve as a correlation id (1 to 128 characters of
 * `A-Z a-z 0-9 . _ : / = -`, so it is safe in logs, headers and URLs), else undefined.
 */
export function saneRequestId(value: string | null | undefined): string | undefined {
  return value && SANE.test(value) ? value : undefined;
}

/** A fresh correlation id: a UUIDv7, so ids sort by time. */
export const newRequestId = (): string => uuidv7();

/** The correlation id of the request `ctx` serves; undefined when the request interceptor is not installed. */
export function requestIdOf(ctx: HandlerContext): string | undefined {
  return ctx.values.get(REQUEST)?.id;
}
