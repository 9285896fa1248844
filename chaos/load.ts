import { Code, ConnectError, type Client } from '@connectrpc/connect';
import type { TaskService } from '../gen/taskd/v1/task_service_pb.js';
import { sleep } from '../internal/shared/sleep.js';
import type { Rng } from './rng.js';
import { nextTask, type TaskKind } from './task-mix.js';

/** A TaskService client. */
export type TaskClient = Client<typeof TaskService>;

/** A submission the API answered OK. */
export interface SubmitOk {
  id: string;
  kind: TaskKind;
  /** Calls it took (failed ones before the OK, plus one). */
  tries: number;
  /** The answer said an earlier call with this key had stored it. */
  existing: boolean;
}

/** A SubmitTask call that failed. */
export interface SubmitFailure {
  key: string;
  /** gRPC code name, e.g. `Unavailable`. */
  code: string;
  apiserver: number;
  at: number;
  message: string;
}

/** Every submission of a run, by idempotency key. */
export class SubmitLedger {
  readonly ok = new Map<string, SubmitOk>();
  readonly failures: SubmitFailure[] = [];
  /** Keys whose every call failed: the task may or may not exist, and either is fine. */
  readonly abandoned = new Set<string>();
  /** Keys submitted at all. */
  sent = 0;
}

/** Options of {@link LoadGenerator}. */
export interface LoadOptions {
  /** Tasks per second. */
  rate: number;
  rng: Rng;
  /** Idempotency keys are `<keyPrefix><seq>`. */
  keyPrefix: string;
  apiservers: number;
  /** The current client of apiserver `i` (it changes when the apiserver restarts). */
  client: (i: number) => TaskClient;
  /** Per-call deadline; default 5 s. */
  callTimeoutMs?: number;
  /** Calls per key before giving up; default 5. */
  maxTries?: number;
}

const TICK_MS = 50;
const MAX_IN_FLIGHT = 256;

/**
 * A steady stream of SubmitTask calls, round-robin over the apiservers. A failed call
 * is retried with the same idempotency key (on the next apiserver, after a short
 * backoff), as a careful client would; every failure is recorded with its code.
 */
export class LoadGenerator {
  readonly ledger = new SubmitLedger();
  private readonly inFlight = new Set<Promise<void>>();
  private rr = 0;

  constructor(private readonly opts: LoadOptions) {}

  /**
   * Submits at the configured rate until `stop` aborts, then waits for the calls in
   * flight (and their retries) to settle. `abort` cuts retries short (interrupt).
   */
  async run(stop: AbortSignal, abort: AbortSignal): Promise<void> {
    const start = performance.now();
    const burst = Math.max(1, Math.ceil((this.opts.rate * TICK_MS) / 1000) * 4);
    while (await sleep(TICK_MS, stop)) {
      const due = Math.floor(((performance.now() - start) / 1000) * this.opts.rate);
      // After a stall (the harness's own event loop was busy), catch up gently instead of bursting.
      for (let n = 0; this.ledger.sent < due && n < burst && this.inFlight.size < MAX_IN_FLIGHT; n++) this.launch(abort);
    }
    await Promise.all(this.inFlight);
  }

  private launch(abort: AbortSignal): void {
    const seq = this.ledger.sent++;
    const p = this.submit(seq, abort).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async submit(seq: number, abort: AbortSignal): Promise<void> {
    const key = `${this.opts.keyPrefix}${seq}`;
    const { kind, spec } = nextTask(this.opts.rng, key, seq);
    const maxTries = this.opts.maxTries ?? 5;
    for (let tries = 1; tries <= maxTries && !abort.aborted; tries++) {
      const api = this.rr++ % this.opts.apiservers;
      try {
        const res = await this.opts.client(api).submitTask({ task: spec }, { timeoutMs: this.opts.callTimeoutMs ?? 5_000 });
        if (!res.task?.id) throw new Error('SubmitTask answered OK without a task id');
        this.ledger.ok.set(key, { id: res.task.id, kind, tries, existing: res.existing });
        return;
      } catch (e) {
        const err = ConnectError.from(e);
        this.ledger.failures.push({ key, code: Code[err.code], apiserver: api, at: Date.now(), message: err.rawMessage });
        await sleep(Math.min(2_000, 200 * 2 ** (tries - 1)), abort);
      }
    }
    this.ledger.abandoned.add(key);
  }
}
