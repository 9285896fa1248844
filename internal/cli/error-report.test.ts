import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { BadRequestSchema } from '../../gen/google/rpc/error_details_pb.js';
import { CliError } from './cli-error.js';
import { codeName, reportError } from './error-report.js';
import { ExitCode, exitCodeOfRpc } from './exit-code.js';

const badRequest = (message: string, violations: Array<[string, string]>): ConnectError =>
  new ConnectError(message, Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations: violations.map(([field, description]) => ({ field, description })) }) },
  ]);

describe('reportError', () => {
  it('an RPC error is one line: taskctl: <code>: <message>', () => {
    expect(reportError(new ConnectError('task x not found', Code.NotFound))).toEqual({ exitCode: 3, lines: ['taskctl: not_found: task x not found'] });
    expect(reportError(new ConnectError('connect ECONNREFUSED 127.0.0.1:1', Code.Unavailable)).exitCode).toBe(5);
  });

  it('field violations the message already lists are not repeated; others follow, one a line', () => {
    expect(reportError(badRequest('task.priority: must be an integer from 0 to 1000', [['task.priority', 'must be an integer from 0 to 1000']])))
      .toEqual({ exitCode: 7, lines: ['taskctl: invalid_argument: task.priority: must be an integer from 0 to 1000'] });
    expect(reportError(badRequest('the request is invalid', [['task.type', 'is required'], ['task.queue', 'is too long']])).lines).toEqual([
      'taskctl: invalid_argument: the request is invalid', '  task.type: is required', '  task.queue: is too long',
    ]);
  });

  it('CLI errors keep their label and exit code; anything else is exit 1 on one line', () => {
    expect(reportError(new CliError(ExitCode.unsuccessful, 'task t ended FAILED: handler: boom', 'unsuccessful')))
      .toEqual({ exitCode: 4, lines: ['taskctl: unsuccessful: task t ended FAILED: handler: boom'] });
    expect(reportError(new Error('two\nlines'))).toEqual({ exitCode: 1, lines: ['taskctl: error: two lines'] });
  });

  it('maps every gRPC code to a documented exit code', () => {
    expect(codeName(Code.FailedPrecondition)).toBe('failed_precondition');
    const byCode = Object.fromEntries(Object.values(Code).filter((c): c is Code => typeof c === 'number').map((c) => [codeName(c), exitCodeOfRpc(c)]));
    expect(byCode).toEqual({
      canceled: 1, unknown: 1, invalid_argument: 7, deadline_exceeded: 5, not_found: 3, already_exists: 8, permission_denied: 6,
      resource_exhausted: 5, failed_precondition: 8, aborted: 8, out_of_range: 7, unimplemented: 1, internal: 1, unavailable: 5,
      data_loss: 1, unauthenticated: 6,
    });
  });
});
