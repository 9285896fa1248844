import { create } from '@bufbuild/protobuf';
import { EventFilterSchema, type EventFilter as PbEventFilter } from '../../../gen/taskd/v1/event_service_pb.js';
import {
  DeliverySchema, DeliveryStatus as PbDeliveryStatus, SubscriptionSchema, type Delivery as PbDelivery, type Subscription as PbSubscription,
} from '../../../gen/taskd/v1/notification_service_pb.js';
import type { Delivery, DeliveryStatus } from '../../domain/delivery.js';
import type { EventFilter } from '../../domain/event-filter.js';
import type { Subscription, SubscriptionInput } from '../../domain/subscription.js';
import { timestampOf } from './json.js';

const STATUS_TO_PB: Record<DeliveryStatus, PbDeliveryStatus> = {
  PENDING: PbDeliveryStatus.PENDING, DELIVERED: PbDeliveryStatus.DELIVERED, FAILED: PbDeliveryStatus.FAILED,
};

/** The domain status of a protobuf DeliveryStatus; undefined for UNSPECIFIED or unknown numbers. */
export function deliveryStatusFromPb(s: PbDeliveryStatus): DeliveryStatus | undefined {
  return (Object.keys(STATUS_TO_PB) as DeliveryStatus[]).find((k) => STATUS_TO_PB[k] === s);
}

export function eventFilterFromPb(f: PbEventFilter | undefined): EventFilter {
  return { types: [...(f?.types ?? [])], aggregateIds: [...(f?.aggregateIds ?? [])], taskTypes: [...(f?.taskTypes ?? [])], labels: [...(f?.labels ?? [])] };
}

/** A CreateSubscription request's subscription as the domain takes it (unset = ""). */
export function subscriptionInputFromPb(s: PbSubscription | undefined): SubscriptionInput {
  return {
    namespace: s?.namespace ?? '', name: s?.name ?? '', filter: eventFilterFromPb(s?.filter), secret: s?.secret ?? '',
    webhookUrl: s?.target.case === 'webhookUrl' ? s.target.value : '', email: s?.target.case === 'email' ? s.target.value : '',
  };
}

/** A subscription as read back; `secret` only where the caller may see it (its creation). */
export function subscriptionToPb(s: Subscription, secret?: string | null): PbSubscription {
  return create(SubscriptionSchema, {
    id: s.id, namespace: s.namespace, name: s.name,
    target: s.channel === 'webhook' ? { case: 'webhookUrl', value: s.target } : { case: 'email', value: s.target },
    filter: create(EventFilterSchema, s.filter), secret: secret ?? '', createdAt: timestampOf(s.createdAt),
  });
}

export function deliveryToPb(d: Delivery): PbDelivery {
  return create(DeliverySchema, {
    id: d.id, namespace: d.namespace, eventId: d.eventId, eventType: d.eventType, taskId: d.taskId ?? '', subscriptionId: d.subscriptionId ?? '',
    channel: d.channel, target: d.target, status: STATUS_TO_PB[d.status], attempts: d.attempts, lastError: d.lastError ?? '',
    createdAt: timestampOf(d.createdAt), updatedAt: timestampOf(d.updatedAt),
    nextAttemptAt: d.status === 'PENDING' ? timestampOf(d.nextAttemptAt) : undefined, deliveredAt: timestampOf(d.deliveredAt),
  });
}
