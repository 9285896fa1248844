import { describe, expect, it } from 'vitest';
import { isDomainError } from './errors.js';
import { emptyFilter } from './event-filter.js';
import { validateSubscription, type SubscriptionInput } from './subscription.js';

const input = (p: Partial<SubscriptionInput>): SubscriptionInput => ({
  namespace: '', name: 'hooks', webhookUrl: '', email: '', filter: emptyFilter(), secret: '', ...p,
});

const fields = (p: Partial<SubscriptionInput>): string[] => {
  try {
    validateSubscription(input(p));
  } catch (e) {
    if (isDomainError(e, 'invalid')) return e.violations.map((v) => `${v.field}: ${v.description}`);
    throw e;
  }
  return [];
};

describe('validateSubscription', () => {
  it('a webhook gets namespace "default" and a generated secret unless it brings one', () => {
    const v = validateSubscription(input({ webhookUrl: 'https://example.com/hook' }));
    expect(v).toMatchObject({ namespace: 'default', channel: 'webhook', target: 'https://example.com/hook' });
    expect(v.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(validateSubscription(input({ webhookUrl: 'http://h/x', secret: 'sixteen-chars-ok' })).secret).toBe('sixteen-chars-ok');
  });

  it('an email has no secret', () => {
    expect(validateSubscription(input({ namespace: 'team-a', email: 'ops@example.com' }))).toMatchObject({
      namespace: 'team-a', channel: 'email', target: 'ops@example.com', secret: null,
    });
  });

  it('names every bad field', () => {
    expect(fields({ namespace: 'Bad NS', name: '' })).toEqual([
      'subscription.namespace: must be 1-63 of a-z, 0-9, "_" or "-", starting with a letter or digit',
      'subscription.name: is required (1-128 characters)',
      'subscription.target: one of webhook_url and email is required',
    ]);
    expect(fields({ webhookUrl: 'ftp://x/y' })).toEqual(['subscription.webhook_url: must be an absolute http or https URL of at most 2048 characters']);
    expect(fields({ webhookUrl: 'not a url' })[0]).toMatch(/^subscription\.webhook_url: /);
    expect(fields({ email: 'nobody' })).toEqual(['subscription.email: must be an email address of at most 254 characters']);
    expect(fields({ webhookUrl: 'http://h/x', email: 'a@b' })).toEqual(['subscription.target: set one of webhook_url and email, not both']);
    expect(fields({ email: 'a@b', secret: 'sixteen-chars-ok' })).toEqual(['subscription.secret: only webhook subscriptions have a secret']);
    expect(fields({ webhookUrl: 'http://h/x', secret: 'short' })).toEqual(['subscription.secret: must be 16-256 characters (or empty to have one generated)']);
    expect(fields({ webhookUrl: 'http://h/x', filter: { ...emptyFilter(), aggregateIds: ['x'] } })).toEqual(['subscription.filter.aggregate_ids[0]: must be a UUID']);
  });
});
