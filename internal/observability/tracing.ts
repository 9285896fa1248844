import { context, diag, DiagLogLevel, propagation, trace, type DiagLogger } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Config } from '../config/config.js';
import type { Logger } from '../shared/logger.js';

/** A process's tracing, as `startTracing` set it up. */
export interface Tracing {
  /** True when spans are recorded and exported. */
  readonly enabled: boolean;
  /**
   * Exports the spans still buffered and stops; part of the process's ordered shutdown,
   * after its components settled. Never rejects; resolves within about `timeoutMs`.
   */
  shutdown(timeoutMs?: number): Promise<void>;
}

/** How often diagnostics of the exporter (a collector that is down, …) reach the log at most. */
const DIAG_EVERY_MS = 60_000;

/**
 * Sets up tracing for this process when `TASKD_TRACING_OTLP_URL` is set: a tracer
 * provider with `service.name` = `serviceName`, sampling new traces at
 * `TASKD_TRACING_SAMPLE_RATIO` (a caller's sampled flag is kept), a batch span processor
 * exporting OTLP/HTTP JSON to the URL, the W3C trace-context propagator and the
 * AsyncLocalStorage context manager, all registered as the OpenTelemetry globals.
 *
 * Unset, nothing is registered: the API's tracer is the no-op one, propagation injects
 * and extracts nothing, and spans cost a function call. Call it once per process, before
 * anything starts spans. Throws if another tracer provider is already registered.
 */
export function startTracing(
  config: Pick<Config, 'TASKD_TRACING_OTLP_URL' | 'TASKD_TRACING_SAMPLE_RATIO'>,
  opts: { serviceName: string; logger: Logger },
): Tracing {
  const url = config.TASKD_TRACING_OTLP_URL;
  if (!url) return { enabled: false, shutdown: async () => {} };
  diag.setLogger(throttledDiag(opts.logger.child({ component: 'tracing' })), DiagLogLevel.WARN);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.TASKD_TRACING_SAMPLE_RATIO) }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }) })],
  });
  if (!trace.setGlobalTracerProvider(provider)) throw new Error('startTracing: a tracer provider is already registered in this process');
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  opts.logger.info({ url, sampleRatio: config.TASKD_TRACING_SAMPLE_RATIO, serviceName: opts.serviceName }, 'tracing on');
  let done: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown: (timeoutMs = 5_000) => {
      done ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)));
        await Promise.race([provider.shutdown().catch((e: Error) => opts.logger.warn({ err: e.message }, 'tracing shutdown failed')), timeout]);
        clearTimeout(timer);
        trace.disable();
        propagation.disable();
        context.disable();
      })();
      return done;
    },
  };
}

/** Warnings and errors of the OpenTelemetry SDK as log lines, at most one per minute (a collector outage repeats every export). */
function throttledDiag(logger: Logger): DiagLogger {
  let last = 0;
  let dropped = 0;
  const log = (message: string, args: unknown[]): void => {
    const now = Date.now();
    if (now - last < DIAG_EVERY_MS) {
      dropped++;
      return;
    }
    last = now;
    const detail = args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
    logger.warn({ detail: detail || undefined, suppressed: dropped || undefined }, `opentelemetry: ${message}`);
    dropped = 0;
  };
  const none = (): void => {};
  return { error: (m, ...a) => log(m, a), warn: (m, ...a) => log(m, a), info: none, debug: none, verbose: none };
}
