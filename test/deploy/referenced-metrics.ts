import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

/*
 * The metric names the deployment files depend on, so that a test can hold them against
 * what the processes really export: the Grafana dashboard's queries and variables, the
 * alert rules (Compose's rule file and the k8s PrometheusRule), the workers' HPA and the
 * prometheus-adapter rule that serves its metric.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Files read by {@link referencedMetrics}, relative to the repository root. */
export const REFERENCING_FILES = {
  dashboard: 'deploy/grafana/dashboards/taskd.json',
  alerts: 'deploy/prometheus/alerts.yml',
  prometheusRule: 'deploy/k8s/monitoring/prometheusrule.yaml',
  hpa: 'deploy/k8s/autoscaling/worker-hpa.yaml',
  adapter: 'deploy/k8s/prometheus-adapter/values.yaml',
} as const;

/** Series Prometheus makes itself for every target; no /metrics scrape contains them. */
export const PROMETHEUS_GENERATED = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added']);

const AGGREGATORS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);
/** Keywords followed by a parenthesised list of label names (optional after group_*). */
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'atan2', 'inf', 'nan']);
const IDENT_START = /[a-zA-Z_:]/;
const IDENT_PART = /[a-zA-Z0-9_:]/;
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Metric names in one PromQL expression, in order of first appearance, without repeats.
 * Names are identifiers that are not functions, aggregation operators or keywords, nor
 * inside label matchers, label lists (`by`, `without`, `on`, `ignoring`, `group_left`,
 * `group_right`), strings, ranges or Grafana variables (`$queue`, `${queue}`). A
 * `__name__` matcher counts (`=`, and `=~` with a plain alternation of names), as does a
 * quoted name in braces (`{"name"}`). Histogram series keep their suffix as written
 * (`x_bucket`). Throws on an unterminated string, brace, bracket or parenthesis.
 */
export function promqlMetricNames(expr: string): string[] {
  const names: string[] = [];
  const add = (n: string): void => {
    if (!names.includes(n)) names.push(n);
  };
  let i = 0;
  const peekNonSpace = (from: number): string => {
    let j = from;
    while (j < expr.length && /\s/.test(expr[j] as string)) j++;
    return expr[j] ?? '';
  };
  const skipSpace = (): void => {
    while (i < expr.length && /\s/.test(expr[i] as string)) i++;
  };
  const readString = (): string => {
    const quote = expr[i] as string;
    let out = '';
    i++;
    while (i < expr.length && expr[i] !== quote) {
      if (expr[i] === '\\' && quote !== '`') i++;
      out += expr[i] ?? '';
      i++;
    }
    if (i >= expr.length) throw new Error(`unterminated string in ${JSON.stringify(expr)}`);
    i++;
    return out;
  };
  const readIdent = (): string => {
    const start = i;
    while (i < expr.length && IDENT_PART.test(expr[i] as string)) i++;
    return expr.slice(start, i);
  };
  const skipBalanced = (open: string, close: string): void => {
    let depth = 0;
    for (; i < expr.length; i++) {
      const c = expr[i] as string;
      if (c === '"' || c === "'" || c === '`') {
        readString();
        i--;
      } else if (c === open) depth++;
      else if (c === close && --depth === 0) {
        i++;
        return;
      }
    }
    throw new Error(`unbalanced ${open}${close} in ${JSON.stringify(expr)}`);
  };
  const readMatchers = (): void => {
    i++; // {
    for (;;) {
      skipSpace();
      const c = expr[i];
      if (c === undefined) throw new Error(`unbalanced {} in ${JSON.stringify(expr)}`);
      if (c === '}') {
        i++;
        return;
      }
      if (c === ',') {
        i++;
        continue;
      }
      const label = c === '"' || c === "'" || c === '`' ? readString() : readIdent();
      if (!label) throw new Error(`unexpected ${JSON.stringify(c)} in matchers of ${JSON.stringify(expr)}`);
      skipSpace();
      const op = /^(=~|!~|!=|=)/.exec(expr.slice(i))?.[0];
      if (!op) {
        add(label); // {"metric.name", ...}: a quoted metric name
        continue;
      }
      i += op.length;
      skipSpace();
      const value = readString();
      if (label !== '__name__') continue;
      if (op === '=') add(value);
      else if (op === '=~' && value.split('|').every((v) => NAME.test(v))) value.split('|').forEach(add);
    }
  };

  while (i < expr.length) {
    const c = expr[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
    } else if (c === '"' || c === "'" || c === '`') {
      readString();
    } else if (c === '{') {
      readMatchers();
    } else if (c === '[') {
      skipBalanced('[', ']');
    } else if (c === '$') {
      i++;
      if (expr[i] === '{') skipBalanced('{', '}');
      else readIdent();
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(expr[i + 1] ?? ''))) {
      // Numbers and durations: 0.95, 1e-3, 0x1f, 5m, 1h30m.
      while (i < expr.length) {
        const d = expr[i] as string;
        if (/[0-9a-zA-Z_.]/.test(d)) i++;
        else if ((d === '-' || d === '+') && /[eE]$/.test(expr.slice(0, i)) && !/^0x/i.test(expr.slice(0, i))) i++;
        else break;
      }
    } else if (IDENT_START.test(c)) {
      const word = readIdent();
      const lower = word.toLowerCase();
      if (LABEL_LIST_KEYWORDS.has(lower)) {
        if (peekNonSpace(i) === '(') {
          skipSpace();
          skipBalanced('(', ')');
        }
      } else if (AGGREGATORS.has(lower) || KEYWORDS.has(lower) || peekNonSpace(i) === '(') {
        // an aggregation, a keyword or a function call
      } else {
        add(word);
      }
    } else {
      i++;
    }
  }
  return names;
}

function read(path: string): string {
  return readFileSync(`${ROOT}${path}`, 'utf8');
}

interface Panel {
  id?: number;
  title?: string;
  targets?: { refId?: string; expr?: string }[];
  panels?: Panel[];
}

interface RuleGroup {
  name: string;
  rules: { alert?: string; record?: string; expr: string }[];
}

/**
 * Every metric name the deployment files reference, each mapped to where (file and
 * panel, variable, rule or object), sorted by name. Reads {@link REFERENCING_FILES}:
 * the dashboard's target expressions and `label_values(…)` variables, the `expr` of every
 * rule in alerts.yml and in the PrometheusRule, the HPA's External metric names, and the
 * prometheus-adapter rules' seriesQuery and metricsQuery (its `<<.Series>>` standing for
 * the series the rule selects). Names recorded by a recording rule are left out: they are
 * made by Prometheus, not scraped. Includes {@link PROMETHEUS_GENERATED} names such as
 * `up` where they are used. Throws when a file is missing or an expression is malformed.
 */
export function referencedMetrics(): Map<string, string[]> {
  const refs = new Map<string, string[]>();
  const note = (expr: string, where: string): void => {
    for (const name of promqlMetricNames(expr)) refs.set(name, [...(refs.get(name) ?? []), where]);
  };

  const { dashboard, alerts, prometheusRule, hpa, adapter } = REFERENCING_FILES;
  const dash = JSON.parse(read(dashboard)) as { panels?: Panel[]; templating?: { list?: { name: string; type: string; query?: unknown }[] } };
  const panels = (dash.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  for (const p of panels) {
    for (const t of p.targets ?? []) {
      if (t.expr) note(t.expr, `${dashboard}: panel ${p.id} "${p.title}" target ${t.refId}`);
    }
  }
  for (const v of dash.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : ((v.query as { query?: string } | undefined)?.query ?? '');
    const labelValues = /^\s*label_values\((.*),\s*[a-zA-Z_]\w*\s*\)\s*$/s.exec(q);
    const inner = labelValues ? labelValues[1] : /^\s*query_result\((.*)\)\s*$/s.exec(q)?.[1];
    if (inner) note(inner, `${dashboard}: variable ${v.name}`);
  }

  const recorded = new Set<string>();
  const ruleFiles: [string, RuleGroup[]][] = [
    [alerts, (parseYaml(read(alerts)) as { groups: RuleGroup[] }).groups],
    [prometheusRule, (parseYaml(read(prometheusRule)) as { spec: { groups: RuleGroup[] } }).spec.groups],
  ];
  for (const [file, groups] of ruleFiles) {
    for (const g of groups) {
      for (const r of g.rules) {
        if (r.record) recorded.add(r.record);
        note(r.expr, `${file}: group ${g.name} ${r.alert ? `alert ${r.alert}` : `record ${r.record}`}`);
      }
    }
  }

  for (const doc of parseAllDocuments(read(hpa))) {
    const o = doc.toJS() as { kind?: string; metadata?: { name?: string }; spec?: { metrics?: { type: string; external?: { metric: { name: string } } }[] } } | null;
    if (o?.kind !== 'HorizontalPodAutoscaler') continue;
    for (const m of o.spec?.metrics ?? []) {
      if (m.type === 'External' && m.external) note(m.external.metric.name, `${hpa}: HorizontalPodAutoscaler ${o.metadata?.name} External metric`);
    }
  }

  const values = parseYaml(read(adapter)) as { rules?: { external?: { seriesQuery: string; metricsQuery: string }[] } };
  (values.rules?.external ?? []).forEach((r, n) => {
    note(r.seriesQuery, `${adapter}: rules.external[${n}].seriesQuery`);
    const series = promqlMetricNames(r.seriesQuery);
    const query = r.metricsQuery.replaceAll('<<.LabelMatchers>>', '').replaceAll('<<.GroupBy>>', 'namespace');
    for (const s of series.length > 0 ? series : ['']) note(query.replaceAll('<<.Series>>', s), `${adapter}: rules.external[${n}].metricsQuery`);
  });

  for (const name of recorded) refs.delete(name);
  return new Map([...refs].sort(([a], [b]) => a.localeCompare(b)));
}
