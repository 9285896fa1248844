import { describe, expect, it } from 'vitest';
import { Metrics, type MetricsPart } from '../../internal/observability/metrics.js';
import { PROMETHEUS_GENERATED, promqlMetricNames, REFERENCING_FILES, referencedMetrics } from './referenced-metrics.js';

describe('promqlMetricNames', () => {
  it.each([
    ['up', ['up']],
    ['taskd_leader', ['taskd_leader']],
    ['max by (namespace) (taskd_leader) < 1 or absent(taskd_leader)', ['taskd_leader']],
    // label lists after by/without/on/ignoring/group_*: names there are labels
    ['sum without (instance, job) (rate(a_total[5m]))', ['a_total']],
    ['a / on (queue, le) group_left (type) b', ['a', 'b']],
    ['a * ignoring(code) group_right b', ['a', 'b']],
    ['sum(x) by (le)', ['x']],
    // matchers: label names and values are not metric names, even when they look like one
    ['rate(taskd_rpc_requests_total{code=~"INTERNAL|UNKNOWN", service!="up", job="taskd_leader"}[5m])', ['taskd_rpc_requests_total']],
    ['{__name__="taskd_queue_depth", queue="a"}', ['taskd_queue_depth']],
    ['{__name__=~"taskd_leader|taskd_leader_epoch"}', ['taskd_leader', 'taskd_leader_epoch']],
    ['{__name__=~"taskd_.*"}', []],
    ['{"my.utf8.metric", le="1"}', ['my.utf8.metric']],
    // histograms keep their suffix; functions, aggregators, keywords and numbers are not names
    ['histogram_quantile(0.99, sum by (le, method) (rate(taskd_rpc_duration_seconds_bucket[$__rate_interval])))', ['taskd_rpc_duration_seconds_bucket']],
    ['sum(rate(x_sum[5m])) / sum(rate(x_count[5m]))', ['x_sum', 'x_count']],
    ['topk(5, count_values("v", build_info)) and bool on() vector(1)', ['build_info']],
    ['quantile(0.5, m) unless m offset 1h30m', ['m']],
    ['m @ start() > 1e-3 and m2 offset -5m < 0x1F', ['m', 'm2']],
    ['time() - max(taskd_outbox_last_publish_timestamp_seconds > 0)', ['taskd_outbox_last_publish_timestamp_seconds']],
    ['label_replace(a, "dst", "$1", "src", "(.*)")', ['a']],
    ['max_over_time(sum by (namespace) (w)[10m:1m]) > Inf or NaN', ['w']],
    // Grafana variables are not names; neither are comments
    ['sum(rate(a{queue=~"$queue"}[${__rate_interval}])) # not_a_metric here\n + b', ['a', 'b']],
    ['sum by(le)(rate(  spaced_metric [5m]))', ['spaced_metric']],
    ['rate (paren_after_space[1m])', ['paren_after_space']],
    ['a{job="x"} + a', ['a']],
    ['1 + 2', []],
  ])('%s', (expr, want) => {
    expect(promqlMetricNames(expr)).toEqual(want);
  });

  it('throws on unbalanced input', () => {
    expect(() => promqlMetricNames('sum(a{b="c"')).toThrow(/unbalanced/);
    expect(() => promqlMetricNames('a{b="c}')).toThrow(/unterminated/);
    expect(() => promqlMetricNames('rate(a[5m)')).toThrow(/unbalanced/);
  });
});

describe('referencedMetrics', () => {
  const refs = referencedMetrics();

  it('finds the names of every referencing file, with where they are', () => {
    const where = [...refs.values()].flat();
    for (const file of Object.values(REFERENCING_FILES)) expect(where.some((w) => w.startsWith(`${file}:`)), file).toBe(true);
    expect(refs.get('taskd_leader')).toEqual(expect.arrayContaining([
      'deploy/prometheus/alerts.yml: group taskd-scheduling alert TaskdNoLeader',
      'deploy/k8s/monitoring/prometheusrule.yaml: group taskd-scheduling alert TaskdNoLeader',
    ]));
    expect(refs.get('taskd_queue_depth')).toEqual(expect.arrayContaining([
      'deploy/k8s/autoscaling/worker-hpa.yaml: HorizontalPodAutoscaler worker External metric',
      'deploy/k8s/prometheus-adapter/values.yaml: rules.external[0].seriesQuery',
      'deploy/k8s/prometheus-adapter/values.yaml: rules.external[0].metricsQuery',
      'deploy/grafana/dashboards/taskd.json: variable queue',
    ]));
    expect(refs.has('taskd_attempt_duration_seconds_bucket')).toBe(true);
    expect(refs.has('queue')).toBe(false);
    expect(refs.has('le')).toBe(false);
  });

  // The names are the contract of internal/observability/metrics.ts; this holds them to
  // it without running a process (an end-to-end test holds them to real scrapes).
  it('names only what taskd exports (with histogram suffixes), default process metrics and up', async () => {
    const parts: MetricsPart[] = ['rpc', 'api', 'scheduler', 'relay', 'worker', 'notifier', 'postgres', 'redis', 'config'];
    const m = new Metrics({ parts, process: 'test' });
    const exported = new Set<string>();
    for (const f of await m.registry.getMetricsAsJSON()) {
      exported.add(f.name);
      if (String(f.type) === 'histogram' || String(f.type) === 'summary') for (const s of ['_bucket', '_sum', '_count']) exported.add(f.name + s);
    }
    const unknown = [...refs].filter(([name]) => !exported.has(name) && !PROMETHEUS_GENERATED.has(name)).map(([name, where]) => `${name} (${where[0]})`);
    expect(unknown).toEqual([]);
    // A histogram is queried through its series, never by its family name alone.
    const histograms = (await m.registry.getMetricsAsJSON()).filter((f) => String(f.type) === 'histogram').map((f) => f.name);
    expect([...refs.keys()].filter((n) => histograms.includes(n))).toEqual([]);
  });
});
