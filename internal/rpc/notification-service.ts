import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import {
  CreateSubscriptionResponseSchema, DeleteSubscriptionResponseSchema, GetSubscriptionResponseSchema, ListDeliveriesResponseSchema,
  ListSubscriptionsResponseSchema, NotificationService,
} from '../../gen/taskd/v1/notification_service_pb.js';
import type { NotificationApi } from '../api/notification-api.js';
import type { DeliveryStatus } from '../domain/delivery.js';
import { DomainError } from '../domain/errors.js';
import { deliveryStatusFromPb, deliveryToPb, subscriptionInputFromPb, subscriptionToPb } from './convert/notification.js';

/** NotificationService over the domain NotificationApi: conversion only, no logic. */
export function notificationServiceImpl(api: NotificationApi): ServiceImpl<typeof NotificationService> {
  return {
    async createSubscription(req) {
      if (!req.subscription) throw DomainError.invalid([{ field: 'subscription', description: 'is required' }]);
      const r = await api.create(subscriptionInputFromPb(req.subscription));
      return create(CreateSubscriptionResponseSchema, { subscription: subscriptionToPb(r.subscription, r.secret) });
    },
    async getSubscription(req) {
      return create(GetSubscriptionResponseSchema, { subscription: subscriptionToPb(await api.get(req.namespace, req.id)) });
    },
    async listSubscriptions(req) {
      const r = await api.list({ namespace: req.namespace, pageSize: req.pageSize, pageToken: req.pageToken });
      return create(ListSubscriptionsResponseSchema, { subscriptions: r.subscriptions.map((s) => subscriptionToPb(s)), nextPageToken: r.nextPageToken });
    },
    async deleteSubscription(req) {
      await api.delete(req.namespace, req.id);
      return create(DeleteSubscriptionResponseSchema, {});
    },
    async listDeliveries(req) {
      const statuses: DeliveryStatus[] = req.statuses.map((s, i) => {
        const d = deliveryStatusFromPb(s);
        if (!d) throw DomainError.invalid([{ field: `statuses[${i}]`, description: 'is not a delivery status' }]);
        return d;
      });
      const r = await api.listDeliveries({
        namespace: req.namespace, subscriptionId: req.subscriptionId, taskId: req.taskId, eventId: req.eventId, statuses,
        pageSize: req.pageSize, pageToken: req.pageToken,
      });
      return create(ListDeliveriesResponseSchema, { deliveries: r.deliveries.map(deliveryToPb), nextPageToken: r.nextPageToken });
    },
  };
}
