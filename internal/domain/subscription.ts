import { randomBytes } from 'node:crypto';
import { DomainError, type FieldViolation } from './errors.js';
import { eventFilterViolations, type EventFilter } from './event-filter.js';

/** Where a delivery goes. */
export type Channel = 'webhook' | 'email';

/** A namespace's standing order to deliver matching events to one webhook or address. */
export interface Subscription {
  id: string;
  namespace: string;
  name: string;
  channel: Channel;
  /** The webhook URL or email address. */
  target: string;
  filter: EventFilter;
  createdAt: Date;
}

/** A CreateSubscription request as the RPC edge hands it over (unset = ""). */
export interface SubscriptionInput {
  namespace: string;
  name: string;
  webhookUrl: string;
  email: string;
  filter: EventFilter;
  secret: string;
}

/** A valid new subscription and its webhook signing secret (null for email). */
export interface ValidSubscription {
  namespace: string;
  name: string;
  channel: Channel;
  target: string;
  filter: EventFilter;
  secret: string | null;
}

const NAMESPACE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const MAX_URL = 2048;
const MAX_EMAIL = 254;

/** True for an absolute http(s) URL of at most 2,048 characters. */
export function isWebhookUrl(s: string): boolean {
  if (s.length > MAX_URL) return false;
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** True for something@somewhere of at most 254 characters (the SMTP server decides the rest). */
export const isEmailAddress = (s: string): boolean => s.length <= MAX_EMAIL && /^[^@\s<>,;]+@[^@\s<>,;]+$/.test(s);

/** A fresh webhook signing secret: "whsec_" and 32 random bytes, base64url. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

/**
 * Checks a new subscription and fills defaults (namespace "default", a generated secret
 * for a webhook without one). Throws DomainError `invalid` naming each bad field under
 * `subscription.`.
 */
export function validateSubscription(p: SubscriptionInput): ValidSubscription {
  const v: FieldViolation[] = [];
  const bad = (field: string, description: string): void => {
    v.push({ field: `subscription.${field}`, description });
  };
  const namespace = p.namespace || 'default';
  if (!NAMESPACE.test(namespace)) bad('namespace', 'must be 1-63 of a-z, 0-9, "_" or "-", starting with a letter or digit');
  if (p.name.trim() === '' || p.name.length > 128) bad('name', 'is required (1-128 characters)');
  if (p.webhookUrl && p.email) bad('target', 'set one of webhook_url and email, not both');
  else if (!p.webhookUrl && !p.email) bad('target', 'one of webhook_url and email is required');
  else if (p.webhookUrl && !isWebhookUrl(p.webhookUrl)) bad('webhook_url', `must be an absolute http or https URL of at most ${MAX_URL} characters`);
  else if (p.email && !isEmailAddress(p.email)) bad('email', `must be an email address of at most ${MAX_EMAIL} characters`);
  if (p.secret && p.email) bad('secret', 'only webhook subscriptions have a secret');
  else if (p.secret && (p.secret.length < 16 || p.secret.length > 256)) bad('secret', 'must be 16-256 characters (or empty to have one generated)');
  v.push(...eventFilterViolations(p.filter, 'subscription.filter'));
  if (v.length > 0) throw DomainError.invalid(v);
  const webhook = p.webhookUrl !== '';
  return {
    namespace, name: p.name, channel: webhook ? 'webhook' : 'email', target: webhook ? p.webhookUrl : p.email, filter: p.filter,
    secret: webhook ? p.secret || newWebhookSecret() : null,
  };
}
