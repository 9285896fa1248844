import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import {
  DeadLetterService, GetDeadLetterResponseSchema, ListDeadLettersResponseSchema, PurgeDeadLettersResponseSchema,
  ReplayDeadLetterResponseSchema,
} from '../../gen/taskd/v1/dead_letter_service_pb.js';
import type { DeadLetterApi } from '../api/dead-letter-api.js';
import { deadLetterToPb, purgeFromPb } from './convert/dead-letter.js';
import { taskToPb } from './convert/task.js';
import { requestIdOf } from './request-context.js';

/** DeadLetterService over the domain DeadLetterApi: conversion only, no logic. */
export function deadLetterServiceImpl(api: DeadLetterApi): ServiceImpl<typeof DeadLetterService> {
  return {
    async listDeadLetters(req) {
      const r = await api.list({
        namespace: req.namespace, type: req.type, queue: req.queue, pageSize: req.pageSize, pageToken: req.pageToken,
      });
      return create(ListDeadLettersResponseSchema, { deadLetters: r.deadLetters.map(deadLetterToPb), nextPageToken: r.nextPageToken });
    },
    async getDeadLetter(req) {
      return create(GetDeadLetterResponseSchema, { deadLetter: deadLetterToPb(await api.get(req.namespace, req.id)) });
    },
    async replayDeadLetter(req, ctx) {
      const r = await api.replay(req.namespace, req.id, requestIdOf(ctx));
      return create(ReplayDeadLetterResponseSchema, { deadLetter: deadLetterToPb(r.deadLetter), task: taskToPb(r.task) });
    },
    async purgeDeadLetters(req) {
      return create(PurgeDeadLettersResponseSchema, { purged: await api.purge(purgeFromPb(req)) });
    },
  };
}
