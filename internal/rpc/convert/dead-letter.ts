import { create } from '@bufbuild/protobuf';
import type { DeadLetterPurgeInput } from '../../api/dead-letter-api.js';
import type { DeadLetter } from '../../domain/dead-letter.js';
import {
  DeadLetterSchema, type DeadLetter as PbDeadLetter, type PurgeDeadLettersRequest,
} from '../../../gen/taskd/v1/dead_letter_service_pb.js';
import { dateOf, timestampOf, valueOf } from './json.js';
import { attemptToPb, errorToPb } from './task.js';


/** A domain dead letter as read back over the API; unset replay fields are empty. */
export function deadLetterToPb(d: DeadLetter): PbDeadLetter {
  return create(DeadLetterSchema, {
    id: d.id,
    taskId: d.taskId,
    namespace: d.namespace,
    type: d.type,
    queue: d.queue,
    payload: valueOf(d.payload),
    error: errorToPb(d.error),
    attempts: d.attempts.map(attemptToPb),
    createdAt: timestampOf(d.createdAt),
    replayedTaskId: d.replayedTaskId ?? '',
    replayedAt: timestampOf(d.replayedAt),
  });
}

/** A purge request as the domain takes it; an unset `before` stays undefined. */
export function purgeFromPb(req: PurgeDeadLettersRequest): DeadLetterPurgeInput {
  return { namespace: req.namespace, ids: req.ids, before: dateOf(req.before) };
}
