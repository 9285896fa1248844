import { describe, expect, it } from 'vitest';
import { TaskStatus } from '../../gen/taskd/v1/task_pb.js';
import { collectList, parseEnumName, parseInteger, parseJson, parseLabels } from './arg-parsers.js';

describe('argument parsers', () => {
  it('labels are key=value; the value may hold "="; a later key wins', () => {
    expect(parseLabels(['env=prod', 'q=a=b', 'env=dev'])).toEqual({ env: 'dev', q: 'a=b' });
    expect(() => parseLabels(['nokey'])).toThrow('--label: "nokey" is not key=value');
    expect(() => parseLabels(['=v'])).toThrow(/not key=value/);
  });

  it('integers are whole numbers; ranges are left to the server', () => {
    expect(parseInteger('5000', '--priority')).toBe(5000);
    expect(parseInteger('-1', '--priority')).toBe(-1);
    expect(() => parseInteger('1.5', '--priority')).toThrow('--priority: "1.5" is not an integer');
  });

  it('JSON errors name where the text came from', () => {
    expect(parseJson('{"a":1}', '--payload')).toEqual({ a: 1 });
    expect(() => parseJson('{a:1}', '--payload')).toThrow(/^--payload: not valid JSON/);
  });

  it('comma lists accumulate across repeats', () => {
    expect(collectList('queued', collectList('running, failed', undefined))).toEqual(['running', 'failed', 'queued']);
  });

  it('enum names in any spelling people type', () => {
    for (const s of ['dead-lettered', 'DEAD_LETTERED', 'task_status_dead_lettered']) {
      expect(parseEnumName(s, TaskStatus, 'TASK_STATUS', '--status')).toBe(TaskStatus.DEAD_LETTERED);
    }
    expect(() => parseEnumName('done', TaskStatus, 'TASK_STATUS', '--status')).toThrow(
      '--status: "done" is not one of pending, queued, running, succeeded, failed, dead-lettered, cancelled, skipped',
    );
    expect(() => parseEnumName('unspecified', TaskStatus, 'TASK_STATUS', '--status')).toThrow(/is not one of/);
  });
});
