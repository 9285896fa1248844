import type { Base } from '../shared/base.js';
import type { DeliveryLoop } from './delivery-loop.js';
import type { KafkaSource } from './kafka-source.js';
import type { OutboxSource } from './outbox-source.js';
import type { EmailSender } from './smtp-sender.js';

/** Where a notifier reads events. */
export type NotifierSource = { kind: 'kafka'; source: KafkaSource } | { kind: 'outbox'; source: OutboxSource };

/**
 * The notifier: a source that turns events into delivery records, and the loop that
 * sends them. Deliveries the source creates wake the loop at once; deliveries other
 * notifiers created are found by the loop's poll.
 */
export class Notifier {
  constructor(
    private readonly base: Base,
    readonly input: NotifierSource,
    readonly loop: DeliveryLoop,
    private readonly email?: EmailSender,
  ) {
    const onRecorded = (r: { created: number }): void => {
      if (r.created > 0) loop.kick();
    };
    if (input.kind === 'kafka') input.source.on('recorded', onRecorded);
    else input.source.on('recorded', onRecorded);
  }

  /** Runs source and loop until `signal` aborts and both have stopped; then closes the SMTP transport. */
  async run(signal: AbortSignal): Promise<void> {
    this.base.logger.info({ source: this.input.kind, email: this.email !== undefined }, 'notifier started');
    try {
      await Promise.all([this.input.source.run(signal), this.loop.run(signal)]);
    } finally {
      this.email?.close();
    }
  }
}
