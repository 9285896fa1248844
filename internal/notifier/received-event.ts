import { parseEventFacts, type EventFacts } from '../domain/event-facts.js';

/** An event as a source hands it to the notifier: the facts to decide on and the body to send. */
export interface ReceivedEvent {
  facts: EventFacts;
  /** The Event proto3 JSON exactly as published; webhooks receive it verbatim. */
  body: string;
}

/** Parses an Event's proto3 JSON into a {@link ReceivedEvent}; throws naming what is wrong. */
export function receivedEvent(body: string): ReceivedEvent {
  return { facts: parseEventFacts(body), body };
}
