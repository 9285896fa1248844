import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import { EventService, ListEventsResponseSchema, WatchEventsResponseSchema } from '../../gen/taskd/v1/event_service_pb.js';
import type { EventApi } from '../api/event-api.js';
import { eventToPb } from './convert/event.js';
import { eventFilterFromPb } from './convert/notification.js';

/** EventService over the domain EventApi: conversion only. */
export function eventServiceImpl(api: EventApi): ServiceImpl<typeof EventService> {
  return {
    async *watchEvents(req, ctx) {
      const events = api.watch({ namespace: req.namespace, filter: eventFilterFromPb(req.filter), afterEventId: req.afterEventId }, ctx.signal);
      for await (const e of events) yield create(WatchEventsResponseSchema, { event: eventToPb(e) });
    },
    async listEvents(req) {
      const r = await api.list({
        namespace: req.namespace, filter: eventFilterFromPb(req.filter), afterEventId: req.afterEventId, pageSize: req.pageSize, pageToken: req.pageToken,
      });
      return create(ListEventsResponseSchema, { events: r.events.map(eventToPb), nextPageToken: r.nextPageToken });
    },
  };
}
