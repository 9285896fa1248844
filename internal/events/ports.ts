/** One Kafka record the relay sends. */
export interface OutboundMessage {
  topic: string;
  /** The aggregate id: the partitioner keeps one aggregate's events in one partition. */
  key: string;
  /** JSON text. */
  value: string;
  headers: Record<string, string>;
}

/**
 * Where the relay publishes (KafkaPublisher for Kafka). One instance per leadership
 * term: `connect` before the first `publish`, `close` at the end.
 */
export interface EventPublisher {
  /** Connects and creates missing topics. Throws when the brokers cannot be reached or refuse. */
  connect(): Promise<void>;
  /**
   * Sends `messages` and resolves once every one was acknowledged by all in-sync
   * replicas; messages of one key are appended in the given order. Throws otherwise:
   * then some of them may or may not have been appended. Retrying the very same
   * messages on the same publisher lets an idempotent producer drop the ones already
   * appended.
   */
  publish(messages: OutboundMessage[]): Promise<void>;
  /** Disconnects (waiting for nothing in flight: callers await `publish` first). Never throws. */
  close(): Promise<void>;
}
