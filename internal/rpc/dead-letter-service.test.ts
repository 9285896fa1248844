import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient, createRouterTransport } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { BadRequestSchema } from '../../gen/google/rpc/error_details_pb.js';
import { DeadLetterService } from '../../gen/taskd/v1/dead_letter_service_pb.js';
import { DeadLetterApi } from '../api/dead-letter-api.js';
import { systemClock } from '../shared/clock.js';
import { silentLogger } from '../shared/logger.js';
import type { Db } from '../storage/db.js';
import { deadLetterServiceImpl } from './dead-letter-service.js';
import { errorInterceptor } from './error-interceptor.js';

/** A database that fails the test if touched: invalid requests must never reach it. */
const untouchable = new Proxy({}, {
  get: (_t, prop) => {
    throw new Error(`the database was used (${String(prop)}) by a request that should have been refused`);
  },
}) as Db;

function client() {
  const logger = silentLogger();
  const api = new DeadLetterApi({ logger, clock: systemClock }, { db: untouchable, hints: { ready: () => undefined } });
  const transport = createRouterTransport((r) => r.service(DeadLetterService, deadLetterServiceImpl(api)), {
    router: { interceptors: [errorInterceptor(logger)] },
  });
  return createClient(DeadLetterService, transport);
}

async function refusal(call: Promise<unknown>): Promise<{ code: Code; message: string; fields: string[] }> {
  const e = await call.then(
    () => { throw new Error('the call succeeded'); },
    (err: unknown) => ConnectError.from(err),
  );
  const fields = e.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
  return { code: e.code, message: e.rawMessage, fields };
}

describe('DeadLetterService input validation (in-memory transport, error interceptor)', () => {
  const c = client();

  it.each([
    ['GetDeadLetter', () => c.getDeadLetter({ id: 'nope' })],
    ['ReplayDeadLetter', () => c.replayDeadLetter({ id: 'nope' })],
  ])('%s with a non-UUID id is INVALID_ARGUMENT naming id', async (_name, call) => {
    expect(await refusal(call())).toEqual({ code: Code.InvalidArgument, message: 'id: must be a UUID', fields: ['id'] });
  });

  it('GetDeadLetter without an id is INVALID_ARGUMENT naming id', async () => {
    expect(await refusal(c.getDeadLetter({}))).toEqual({ code: Code.InvalidArgument, message: 'id: is required', fields: ['id'] });
  });

  it('an empty purge is INVALID_ARGUMENT naming before', async () => {
    expect(await refusal(c.purgeDeadLetters({}))).toEqual({
      code: Code.InvalidArgument, message: 'before: is required when ids is empty', fields: ['before'],
    });
  });

  it('a purge names each id that is not a UUID', async () => {
    const r = await refusal(c.purgeDeadLetters({ ids: ['01900000-0000-7000-8000-000000000001', 'x', ''], before: timestampFromDate(new Date()) }));
    expect(r.code).toBe(Code.InvalidArgument);
    expect(r.fields).toEqual(['ids[1]', 'ids[2]']);
  });

  it('a purge of more than 1000 ids is INVALID_ARGUMENT naming ids', async () => {
    const ids = Array.from({ length: 1001 }, (_, i) => `01900000-0000-7000-8000-${String(i).padStart(12, '0')}`);
    expect(await refusal(c.purgeDeadLetters({ ids }))).toMatchObject({ code: Code.InvalidArgument, fields: ['ids'] });
  });

  it('ListDeadLetters refuses a page size out of range and a forged page token', async () => {
    expect(await refusal(c.listDeadLetters({ pageSize: 5000 }))).toMatchObject({ fields: ['page_size'] });
    expect(await refusal(c.listDeadLetters({ pageToken: 'forged' }))).toMatchObject({ code: Code.InvalidArgument, fields: ['page_token'] });
  });
});
