import { describe, expect, it } from 'vitest';
import { PathTemplate } from './path-template.js';

const vars = (t: string, path: string) => {
  const m = new PathTemplate(t).match(path);
  return m && Object.fromEntries(m);
};

describe('PathTemplate', () => {
  it('matches literals, variables, nested field paths and custom verbs', () => {
    expect(vars('/v1/tasks', '/v1/tasks')).toEqual({});
    expect(vars('/v1/tasks/{id}', '/v1/tasks/abc')).toEqual({ id: 'abc' });
    expect(vars('/v1/schedules/{schedule.id}', '/v1/schedules/s-1')).toEqual({ 'schedule.id': 's-1' });
    expect(vars('/v1/tasks/{id}:cancel', '/v1/tasks/abc:cancel')).toEqual({ id: 'abc' });
    expect(vars('/v1/tasks:batch', '/v1/tasks:batch')).toEqual({});
    expect(vars('/v1/{name=projects/*/tasks/*}', '/v1/projects/p/tasks/t')).toEqual({ name: 'projects/p/tasks/t' });
    expect(vars('/v1/files/{path=**}', '/v1/files/a/b/c')).toEqual({ path: 'a/b/c' });
  });

  it('does not match other shapes', () => {
    expect(vars('/v1/tasks', '/v1/tasks:batch')).toBeUndefined();
    expect(vars('/v1/tasks:batch', '/v1/tasks')).toBeUndefined();
    expect(vars('/v1/tasks/{id}', '/v1/tasks')).toBeUndefined();
    expect(vars('/v1/tasks/{id}', '/v1/tasks/')).toBeUndefined();
    expect(vars('/v1/tasks/{id}', '/v1/tasks/a/b')).toBeUndefined();
    expect(vars('/v1/tasks/{id}:cancel', '/v1/tasks/abc:retry')).toBeUndefined();
    expect(vars('/v1/tasks/{id}:cancel', '/v1/tasks/abc')).toBeUndefined();
  });

  it('decodes variables after matching; an escaped colon is part of the id, not a verb', () => {
    expect(vars('/v1/tasks/{id}', '/v1/tasks/a%2Fb%20c')).toEqual({ id: 'a/b c' });
    expect(vars('/v1/tasks/{id}:cancel', '/v1/tasks/a%3Ab:cancel')).toEqual({ id: 'a:b' });
    expect(vars('/v1/tasks/{id}:cancel', '/v1/tasks/a%3Acancel')).toBeUndefined();
    expect(() => new PathTemplate('/v1/tasks/{id}').match('/v1/tasks/%E0%A4%A')).toThrow(URIError);
  });

  it('renders the OpenAPI path and counts literal segments', () => {
    expect(new PathTemplate('/v1/schedules/{schedule.id}').toOpenApiPath()).toBe('/v1/schedules/{schedule.id}');
    expect(new PathTemplate('/v1/tasks/{id}:watch').toOpenApiPath()).toBe('/v1/tasks/{id}:watch');
    expect(new PathTemplate('/v1/{name=projects/*}').toOpenApiPath()).toBe('/v1/{name}');
    expect(new PathTemplate('/v1/tasks/{id}:watch').literalCount).toBe(2);
    expect(new PathTemplate('/v1/tasks/{id}:watch').verb).toBe('watch');
  });

  it('rejects malformed templates, naming them', () => {
    for (const bad of ['v1/tasks', '/v1/{id', '/v1/{a{b}}', '/v1/**/x', '/v1/{id}/{id}', '/v1/tasks:', '/v1//x', '/v1/{1x}']) {
      expect(() => new PathTemplate(bad), bad).toThrow(`invalid path template "${bad}"`);
    }
  });
});
