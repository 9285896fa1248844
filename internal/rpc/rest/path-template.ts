/**
 * A `google.api.http` path template (google/api/http.proto):
 *
 *     Template = "/" Segments [ Verb ] ;
 *     Segments = Segment { "/" Segment } ;
 *     Segment  = "*" | "**" | LITERAL | Variable ;
 *     Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *     FieldPath = IDENT { "." IDENT } ;
 *     Verb     = ":" LITERAL ;
 *
 * `{id}` is `{id=*}`: one path segment. `**` matches zero or more segments and may only
 * come last. The verb (`/v1/tasks/{id}:cancel`) is matched against the end of the raw
 * path, so an id may still contain an escaped colon (`%3A`).
 */
export class PathTemplate {
  /** The flattened segments; `capture` is the index into `variables`, if captured. */
  private readonly segments: { kind: 'literal' | 'one' | 'many'; literal?: string; capture?: number }[] = [];
  /** The variables in order of appearance, as dotted field paths (`schedule.id`). */
  readonly variables: string[] = [];
  /** The custom verb without its colon, or undefined. */
  readonly verb: string | undefined;

  /** Parses `template`; throws an Error naming the template and the problem. */
  constructor(readonly template: string) {
    const fail = (why: string): never => {
      throw new Error(`invalid path template "${template}": ${why}`);
    };
    if (!template.startsWith('/')) fail('must start with "/"');
    let rest = template.slice(1);
    const colon = lastTopLevelColon(rest);
    if (colon >= 0) {
      this.verb = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
      if (!/^[^/{}*:]+$/.test(this.verb)) fail(`bad verb "${this.verb}"`);
    }
    for (const part of splitTopLevel(rest, fail)) {
      if (part.startsWith('{')) {
        if (!part.endsWith('}')) fail(`unclosed variable "${part}"`);
        const [path, sub] = splitOnce(part.slice(1, -1), '=');
        if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(path)) fail(`bad field path "${path}"`);
        if (this.variables.includes(path)) fail(`variable "${path}" bound twice`);
        const capture = this.variables.push(path) - 1;
        for (const s of (sub ?? '*').split('/')) this.segments.push({ ...plainSegment(s, fail), capture });
      } else {
        this.segments.push(plainSegment(part, fail));
      }
    }
    const deep = this.segments.findIndex((s) => s.kind === 'many');
    if (deep >= 0 && deep !== this.segments.length - 1) fail('"**" may only be the last segment');
  }

  /** How many literal segments it has: the more, the more specific. */
  get literalCount(): number {
    return this.segments.filter((s) => s.kind === 'literal').length;
  }

  /**
   * Matches a request path (raw, still percent-encoded, without the query). Returns
   * the variables' decoded values by field path, or undefined when it does not match.
   * Throws URIError for malformed percent-encoding in a matching path.
   */
  match(rawPath: string): Map<string, string> | undefined {
    if (!rawPath.startsWith('/')) return undefined;
    let rest = rawPath.slice(1);
    if (this.verb !== undefined) {
      if (!rest.endsWith(`:${this.verb}`)) return undefined;
      rest = rest.slice(0, -this.verb.length - 1);
    }
    const parts = rest.split('/');
    const last = this.segments[this.segments.length - 1];
    const open = last?.kind === 'many';
    if (open ? parts.length < this.segments.length - 1 : parts.length !== this.segments.length) return undefined;
    const captured: string[][] = this.variables.map(() => []);
    for (const [i, seg] of this.segments.entries()) {
      const taken = seg.kind === 'many' ? parts.slice(i) : [parts[i] as string];
      if (seg.kind === 'literal' && taken[0] !== seg.literal) return undefined;
      if (seg.kind === 'one' && taken[0] === '') return undefined;
      if (seg.capture !== undefined) captured[seg.capture]!.push(...taken);
    }
    // Decode only once the shape matched, so a malformed escape elsewhere is not our error.
    return new Map(this.variables.map((v, i) => [v, captured[i]!.map((p) => decodeURIComponent(p)).join('/')]));
  }

  /** The template in OpenAPI form: `/v1/schedules/{schedule.id}`, `/v1/tasks/{id}:cancel`. */
  toOpenApiPath(): string {
    let out = '';
    let open: number | undefined;
    for (const s of this.segments) {
      if (s.capture !== undefined) {
        if (s.capture !== open) out += `/{${this.variables[s.capture]}}`;
        open = s.capture;
        continue;
      }
      open = undefined;
      out += `/${s.kind === 'literal' ? s.literal : s.kind === 'one' ? '*' : '**'}`;
    }
    return this.verb === undefined ? out : `${out}:${this.verb}`;
  }
}

function plainSegment(s: string, fail: (why: string) => never): { kind: 'literal' | 'one' | 'many'; literal?: string } {
  if (s === '*') return { kind: 'one' };
  if (s === '**') return { kind: 'many' };
  if (s === '' || /[{}*=:]/.test(s)) fail(`bad segment "${s}"`);
  return { kind: 'literal', literal: s };
}

/** Index of the verb's colon: the last ":" outside braces, or -1. */
function lastTopLevelColon(s: string): number {
  let depth = 0;
  let at = -1;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}') depth--;
    else if (s[i] === ':' && depth === 0) at = i;
  }
  return at;
}

/** Splits on "/" outside braces. */
function splitTopLevel(s: string, fail: (why: string) => never): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = s[i];
    if (c === '{') depth++;
    if (c === '}') depth--;
    if (depth < 0 || depth > 1) fail('unbalanced or nested braces');
    if ((c === '/' && depth === 0) || i === s.length) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) fail('unbalanced braces');
  return out;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}
