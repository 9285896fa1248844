"""Monitoring checks of the deployment files, run by check_deploy.py (section `monitoring`).

What promtool, kubeconform and the compose loader cannot know: that the monitoring files
agree with the processes and with each other.

  deploy/prometheus/prometheus.yml   scrapes every taskd process of docker-compose.yml at its
                                     listen port, as job taskd-<binary>, and names no other;
                                     the Prometheus service mounts it and its rule files
  deploy/grafana/                    the dashboard is JSON with unique panel ids, every panel
                                     has a data source and targets with an expression; the
                                     provisioning's datasource is the compose Prometheus and
                                     its provider path is where compose mounts the dashboards
  deploy/k8s/monitoring/             ServiceMonitors and the PodMonitor scrape every taskd
                                     workload on its listen port, by a port name that exists,
                                     as the same job names as Compose; the PrometheusRule's
                                     groups equal alerts.yml's
  deploy/k8s/autoscaling/,           the HPA scales the worker Deployment (which leaves
  deploy/k8s/prometheus-adapter/     replicas to it) on an External metric that an adapter
                                     rule serves, a taskd gauge, with a selector on its labels
                                     naming queues the workers serve

Also: `promql_rules()` writes every dashboard and adapter query into a rule file, so that
`promtool check rules` parses them (scripts/validate-deploy.sh), and
`--write-prometheusrule` regenerates deploy/k8s/monitoring/prometheusrule.yaml from alerts.yml.
"""
import json
import os
import re
import sys

import yaml

PROM_DIR = 'deploy/prometheus'
DASHBOARD = 'deploy/grafana/dashboards/taskd.json'
GRAFANA_DATASOURCES = 'deploy/grafana/provisioning/datasources/prometheus.yml'
GRAFANA_PROVIDERS = 'deploy/grafana/provisioning/dashboards/taskd.yml'
ADAPTER_VALUES = 'deploy/k8s/prometheus-adapter/values.yaml'
PROMETHEUSRULE = 'deploy/k8s/monitoring/prometheusrule.yaml'
SCRAPED = ('apiserver', 'scheduler', 'worker', 'notifier')
# Grafana's interval variables, as promtool should see them.
GRAFANA_DURATIONS = {'__rate_interval': '1m', '__interval': '1m', '__range': '1h', '__range_s': '3600'}


def read(root, path):
    with open(os.path.join(root, path), encoding='utf-8') as f:
        return f.read()


def load_inputs(root):
    """The monitoring files, parsed (the dashboard is kept as text: parsing it is a check)."""
    prom = yaml.safe_load(read(root, f'{PROM_DIR}/prometheus.yml'))
    return {
        'prometheus': prom,
        'rule_files': {f: yaml.safe_load(read(root, f'{PROM_DIR}/{f}')) for f in prom.get('rule_files') or []
                       if os.path.isfile(os.path.join(root, PROM_DIR, f))},
        'dashboard': read(root, DASHBOARD),
        'grafana_datasources': yaml.safe_load(read(root, GRAFANA_DATASOURCES)),
        'grafana_providers': yaml.safe_load(read(root, GRAFANA_PROVIDERS)),
        'adapter': yaml.safe_load(read(root, ADAPTER_VALUES)),
    }


def dashboard_panels(dash):
    """Every panel, those nested in collapsed rows included."""
    for p in dash.get('panels') or []:
        yield p
        yield from p.get('panels') or []


def mounts(svc):
    """{container path: host path} of a compose service's bind mounts."""
    out = {}
    for v in svc.get('volumes') or []:
        if isinstance(v, str):
            parts = v.split(':')
            if len(parts) >= 2 and parts[0].startswith(('.', '/')):
                out[parts[1]] = os.path.normpath(parts[0])
        elif v.get('type') == 'bind':
            out[v['target']] = os.path.normpath(v['source'])
    return out


def service_running(services, image_prefix):
    names = [n for n, s in services.items() if str(s.get('image', '')).startswith(image_prefix)]
    return names[0] if len(names) == 1 else None


# ---------------------------------------------------------------- compose: Prometheus, Grafana

def check_prometheus_compose(m, compose, compose_info, rep):
    services = compose.get('services') or {}
    prom = m['prometheus']
    jobs = {j['job_name']: j for j in prom.get('scrape_configs') or []}
    # Every taskd process of compose is a target of taskd-<binary> at its listen port.
    want = {}
    for name, (binary, r) in compose_info.items():
        if binary in SCRAPED:
            want.setdefault(f'taskd-{binary}', set()).add(f'{name}:{r["listen"]}')
    for job, targets in sorted(want.items()):
        if not rep.check(job in jobs, f'prometheus.yml: no scrape job {job}'):
            continue
        got = set()
        for sc in jobs[job].get('static_configs') or []:
            got |= set(sc.get('targets') or [])
        for sd in jobs[job].get('dns_sd_configs') or []:
            got |= {f'{n}:{sd.get("port")}' for n in sd.get('names') or []}
        rep.check(got == targets, f'prometheus.yml: job {job} scrapes {sorted(got)}, the compose processes listen at {sorted(targets)}')
        rep.check(jobs[job].get('metrics_path', '/metrics') == '/metrics', f'prometheus.yml: job {job} metrics_path is not /metrics')
    for job in jobs:
        rep.check(not job.startswith('taskd-') or job in want, f'prometheus.yml: job {job} scrapes no compose process')
    # The Prometheus service mounts the config and its rule files where the config expects them.
    name = service_running(services, 'prom/prometheus')
    if not rep.check(name is not None, 'compose: no (single) prom/prometheus service'):
        return None
    mt = mounts(services[name])
    rep.check(mt.get('/etc/prometheus/prometheus.yml') == f'{PROM_DIR}/prometheus.yml', f'compose {name}: does not mount {PROM_DIR}/prometheus.yml at /etc/prometheus/prometheus.yml')
    for f in prom.get('rule_files') or []:
        rep.check(f in m['rule_files'], f'prometheus.yml: rule file {f} does not exist next to it')
        rep.check(mt.get(os.path.join('/etc/prometheus', f)) == f'{PROM_DIR}/{f}', f'compose {name}: does not mount {PROM_DIR}/{f} at /etc/prometheus/{f}')
    return name


def check_grafana(m, compose, prometheus_service, rep):
    services = compose.get('services') or {}
    name = service_running(services, 'grafana/grafana')
    if not rep.check(name is not None, 'compose: no (single) grafana/grafana service'):
        return
    mt = mounts(services[name])
    rep.check(mt.get('/etc/grafana/provisioning/datasources') == os.path.dirname(GRAFANA_DATASOURCES), f'compose {name}: does not mount {os.path.dirname(GRAFANA_DATASOURCES)}')
    rep.check(mt.get('/etc/grafana/provisioning/dashboards') == os.path.dirname(GRAFANA_PROVIDERS), f'compose {name}: does not mount {os.path.dirname(GRAFANA_PROVIDERS)}')
    dash_dir = next((c for c, h in mt.items() if h == os.path.dirname(DASHBOARD)), None)
    rep.check(dash_dir is not None, f'compose {name}: does not mount {os.path.dirname(DASHBOARD)}')
    providers = (m['grafana_providers'] or {}).get('providers') or []
    rep.check(len(providers) >= 1 and all((p.get('options') or {}).get('path') == dash_dir for p in providers),
              f'grafana provider paths {[(p.get("options") or {}).get("path") for p in providers]} are not where compose mounts the dashboards ({dash_dir})')
    env = services[name].get('environment') or {}
    home = env.get('GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH') if isinstance(env, dict) else None
    if home:
        rep.check(dash_dir is not None and os.path.dirname(home) == dash_dir and os.path.basename(home) == os.path.basename(DASHBOARD),
                  f'compose {name}: home dashboard {home} is not the mounted {DASHBOARD}')
    sources = (m['grafana_datasources'] or {}).get('datasources') or []
    proms = [d for d in sources if d.get('type') == 'prometheus']
    if rep.check(len(proms) == 1, f'grafana datasources: expected one prometheus datasource, found {len(proms)}'):
        url = str(proms[0].get('url', ''))
        mm = re.match(r'^http://([^:/]+):(\d+)/?$', url)
        rep.check(bool(mm) and mm.group(1) == prometheus_service and mm.group(2) == '9090',
                  f'grafana datasource url {url} is not http://{prometheus_service}:9090')


# ---------------------------------------------------------------- the dashboard

def check_dashboard(text, rep):
    try:
        dash = json.loads(text)
    except ValueError as e:
        rep.check(False, f'{DASHBOARD}: not JSON: {e}')
        return None
    if not rep.check(isinstance(dash, dict) and dash.get('uid') and dash.get('title'), f'{DASHBOARD}: no uid or title'):
        return None
    variables = {v.get('name'): v for v in (dash.get('templating') or {}).get('list') or []}
    ds_vars = {n for n, v in variables.items() if v.get('type') == 'datasource' and v.get('query') == 'prometheus'}

    def datasource_ok(ds):
        if not isinstance(ds, dict) or ds.get('type') != 'prometheus':
            return False
        uid = str(ds.get('uid', ''))
        var = re.fullmatch(r'\$\{?(\w+)\}?', uid)
        return uid == 'prometheus' or bool(var and var.group(1) in ds_vars)

    ids = []
    for p in dashboard_panels(dash):
        ids.append(p.get('id'))
        what = f'{DASHBOARD}: panel {p.get("id")} "{p.get("title")}"'
        g = p.get('gridPos') or {}
        rep.check(all(isinstance(g.get(k), int) for k in 'hwxy') and g['x'] + g['w'] <= 24, f'{what}: bad gridPos {g}')
        if p.get('type') == 'row':
            continue
        rep.check(datasource_ok(p.get('datasource')), f'{what}: datasource {p.get("datasource")} is not a Prometheus (the $datasource variable or uid prometheus)')
        targets = p.get('targets') or []
        if not rep.check(bool(targets), f'{what}: no targets'):
            continue
        refs = [t.get('refId') for t in targets]
        rep.check(len(set(refs)) == len(refs) and all(refs), f'{what}: refIds {refs} missing or repeated')
        for t in targets:
            rep.check(bool(str(t.get('expr', '')).strip()), f'{what}: target {t.get("refId")} has no expr')
            rep.check(t.get('datasource') is None or datasource_ok(t['datasource']), f'{what}: target {t.get("refId")} datasource {t.get("datasource")} is not a Prometheus')
    rep.check(all(isinstance(i, int) for i in ids) and len(set(ids)) == len(ids),
              f'{DASHBOARD}: panel ids missing or repeated: {sorted(i for i in ids if ids.count(i) > 1 or not isinstance(i, int))}')
    for n, v in variables.items():
        if v.get('type') == 'query':
            rep.check(datasource_ok(v.get('datasource')), f'{DASHBOARD}: variable {n} datasource {v.get("datasource")} is not a Prometheus')
    return dash


def grafana_to_promql(expr):
    """Grafana's variables replaced so that promtool can parse the query."""
    def sub(mm):
        name = mm.group(1) or mm.group(2)
        return GRAFANA_DURATIONS.get(name, '.*')
    return re.sub(r'\$\{(\w+)(?::\w+)?\}|\$(\w+)', sub, expr)


def promql_rules(root):
    """A rule file (text) recording every dashboard and adapter query, for promtool to parse."""
    m = load_inputs(root)
    rules = []
    dash = json.loads(m['dashboard'])
    for p in dashboard_panels(dash):
        for t in p.get('targets') or []:
            rules.append({'record': f'dashboard:panel_{p["id"]}:{t["refId"]}', 'expr': grafana_to_promql(t['expr'])})
    for v in (dash.get('templating') or {}).get('list') or []:
        q = v.get('query')
        q = q.get('query') if isinstance(q, dict) else q
        mm = re.fullmatch(r'\s*label_values\((.*),\s*\w+\s*\)\s*', str(q or ''))
        if v.get('type') == 'query' and mm:
            rules.append({'record': f'dashboard:variable:{v["name"]}', 'expr': grafana_to_promql(mm.group(1))})
    for i, r in enumerate(adapter_rules(m['adapter'])):
        rules.append({'record': f'adapter:rule_{i}:series', 'expr': r['seriesQuery']})
        rules.append({'record': f'adapter:rule_{i}:metrics', 'expr': adapter_query(r['metricsQuery'])})
    return yaml.safe_dump({'groups': [{'name': 'dashboard-and-adapter-queries', 'rules': rules}]}, sort_keys=False)


def adapter_rules(values):
    return ((values or {}).get('rules') or {}).get('external') or []


def adapter_query(q):
    """An adapter metricsQuery with its Go template filled in as the adapter would."""
    return (q.replace('<<.Series>>', 'taskd_queue_depth').replace('<<.LabelMatchers>>', 'namespace="taskd",queue="default"')
             .replace('<<.GroupBy>>', 'namespace'))


# ---------------------------------------------------------------- Kubernetes monitoring

def selects(selector, labels):
    ml = (selector or {}).get('matchLabels') or {}
    for e in (selector or {}).get('matchExpressions') or []:
        v = labels.get(e['key'])
        op = e['operator']
        if (op == 'In' and v not in e.get('values', [])) or (op == 'NotIn' and v in e.get('values', [])) \
                or (op == 'Exists' and v is None) or (op == 'DoesNotExist' and v is not None):
            return False
    return bool(ml or (selector or {}).get('matchExpressions')) and all(labels.get(k) == v for k, v in ml.items())


def job_of(endpoint):
    jobs = [r.get('replacement') for r in endpoint.get('relabelings') or [] if r.get('targetLabel') == 'job' and r.get('action', 'replace') == 'replace']
    return jobs[-1] if jobs else None


def check_k8s_monitoring(m, docs, k8s_info, compose_jobs, rep):
    ns = lambda d: d['metadata'].get('namespace')
    services = [d for d in docs if d['kind'] == 'Service']
    covered = {}
    for sm in (d for d in docs if d['kind'] == 'ServiceMonitor'):
        w = f'k8s ServiceMonitor/{sm["metadata"]["name"]}'
        picked = [s for s in services if ns(s) == ns(sm) and selects(sm['spec'].get('selector'), s['metadata'].get('labels') or {})]
        if not rep.check(bool(picked), f'{w}: selects no Service'):
            continue
        for ep in sm['spec'].get('endpoints') or []:
            rep.check(ep.get('path', '/metrics') == '/metrics', f'{w}: path {ep.get("path")} is not /metrics')
            for s in picked:
                port = next((p for p in s['spec'].get('ports') or [] if p.get('name') == ep.get('port')), None)
                if not rep.check(port is not None, f'{w}: Service {s["metadata"]["name"]} has no port named {ep.get("port")}'):
                    continue
                for binary, entries in k8s_info.items():
                    for wl, c, _, r in entries:
                        if ns(wl) == ns(s) and selects({'matchLabels': s['spec'].get('selector')}, wl['spec']['template']['metadata'].get('labels') or {}):
                            tp = port.get('targetPort', port['port'])
                            cp = next((p['containerPort'] for p in c.get('ports') or [] if p.get('name') == tp or p['containerPort'] == tp), None)
                            rep.check(cp == r['listen'], f'{w}: port {ep.get("port")} reaches {wl["metadata"]["name"]} on {cp}, which listens on {r["listen"]}')
                            covered.setdefault(wl['metadata']['name'], set()).add((binary, job_of(ep)))
    for pm in (d for d in docs if d['kind'] == 'PodMonitor'):
        w = f'k8s PodMonitor/{pm["metadata"]["name"]}'
        hit = False
        for binary, entries in k8s_info.items():
            for wl, c, _, r in entries:
                if ns(wl) != ns(pm) or not selects(pm['spec'].get('selector'), wl['spec']['template']['metadata'].get('labels') or {}):
                    continue
                hit = True
                for ep in pm['spec'].get('podMetricsEndpoints') or []:
                    cp = next((p['containerPort'] for p in c.get('ports') or [] if p.get('name') == ep.get('port')), None)
                    rep.check(cp == r['listen'], f'{w}: port {ep.get("port")} of {wl["metadata"]["name"]} is {cp}, it listens on {r["listen"]}')
                    rep.check(ep.get('path', '/metrics') == '/metrics', f'{w}: path {ep.get("path")} is not /metrics')
                    covered.setdefault(wl['metadata']['name'], set()).add((binary, job_of(ep)))
        rep.check(hit, f'{w}: selects no pods')
    for binary, entries in k8s_info.items():
        if binary not in SCRAPED:
            continue
        for wl, _, _, _ in entries[:1]:
            got = covered.get(wl['metadata']['name'], set())
            rep.check(len(got) == 1, f'k8s {wl["kind"]}/{wl["metadata"]["name"]}: scraped by {len(got)} monitors, want 1')
            for b, job in got:
                rep.check(job == f'taskd-{b}', f'k8s {wl["metadata"]["name"]}: scraped as job {job}, want taskd-{b} (the alert rules and dashboard use it)')
                rep.check(job in compose_jobs, f'k8s {wl["metadata"]["name"]}: job {job} is not a job of prometheus.yml ({sorted(compose_jobs)})')
    # The PrometheusRule carries exactly alerts.yml's groups.
    rules = [d for d in docs if d['kind'] == 'PrometheusRule']
    if rep.check(len(rules) == 1, f'k8s: expected one PrometheusRule, found {len(rules)}'):
        want = [g for f in m['rule_files'].values() for g in (f or {}).get('groups') or []]
        rep.check(rules[0]['spec'].get('groups') == want,
                  f'k8s PrometheusRule/{rules[0]["metadata"]["name"]}: groups differ from {PROM_DIR}/alerts.yml (regenerate: check_monitoring.py --write-prometheusrule)')


def check_hpa(m, docs, k8s_info, metrics, rep):
    hpas = [d for d in docs if d['kind'] == 'HorizontalPodAutoscaler']
    if not rep.check(len(hpas) >= 1, 'k8s: no HorizontalPodAutoscaler'):
        return
    workers = {wl['metadata']['name']: (wl, r) for wl, _, _, r in k8s_info.get('worker', [])}
    served = {}
    for r in adapter_rules(m['adapter']):
        name = (r.get('name') or {}).get('as') or (r.get('name') or {}).get('matches', '').strip('^$')
        served[name] = r
        series = re.match(r'^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)', r.get('seriesQuery', ''))
        rep.check(bool(series) and re.fullmatch((r.get('name') or {}).get('matches', '.*'), series.group(1)),
                  f'{ADAPTER_VALUES}: seriesQuery {r.get("seriesQuery")!r} is not matched by name.matches')
        q = r.get('metricsQuery', '')
        rep.check('<<.Series>>' in q and '<<.LabelMatchers>>' in q, f'{ADAPTER_VALUES}: metricsQuery must use <<.Series>> and <<.LabelMatchers>> (the HPA selector and namespace)')
        rep.check(((r.get('resources') or {}).get('overrides') or {}).get('namespace', {}).get('resource') == 'namespace',
                  f'{ADAPTER_VALUES}: rule for {name} does not map the namespace label (an HPA would see other namespaces\' queues)')
    families = {f['name']: f for f in metrics}
    for h in hpas:
        w = f'k8s HorizontalPodAutoscaler/{h["metadata"]["name"]}'
        ref = h['spec'].get('scaleTargetRef') or {}
        target = workers.get(ref.get('name')) if ref.get('kind') == 'Deployment' else None
        if rep.check(target is not None, f'{w}: scaleTargetRef {ref} is no worker Deployment'):
            wl, r = target
            rep.check('replicas' not in wl['spec'], f'{w}: Deployment {wl["metadata"]["name"]} sets replicas, which every apply resets under the HPA')
        lo, hi = h['spec'].get('minReplicas', 1), h['spec'].get('maxReplicas', 0)
        rep.check(1 <= lo <= hi, f'{w}: minReplicas {lo} / maxReplicas {hi}')
        for mt in h['spec'].get('metrics') or []:
            if mt.get('type') != 'External':
                continue
            metric = mt['external']['metric']
            name = metric.get('name')
            rep.check(name in served, f'{w}: External metric {name} is served by no rule of {ADAPTER_VALUES} ({sorted(served)})')
            fam = families.get(name)
            if not rep.check(fam is not None and fam['type'] == 'gauge', f'{w}: {name} is not a gauge taskd exports'):
                continue
            sel = metric.get('selector') or {}
            keys = set((sel.get('matchLabels') or {})) | {e['key'] for e in sel.get('matchExpressions') or []}
            rep.check(keys and keys <= set(fam['labels']), f'{w}: selector labels {sorted(keys)} are not labels of {name} ({fam["labels"]})')
            queues = set()
            if 'queue' in (sel.get('matchLabels') or {}):
                queues.add(sel['matchLabels']['queue'])
            for e in sel.get('matchExpressions') or []:
                if e['key'] == 'queue' and e['operator'] == 'In':
                    queues |= set(e.get('values') or [])
            if target:
                serves = set(target[1]['cfg'].get('TASKD_WORKER_QUEUES') or [])
                rep.check(queues and queues <= serves, f'{w}: scales on queues {sorted(queues)}, the workers serve {sorted(serves)}')


def check_monitoring(m, compose, compose_info, k8s_docs, k8s_info, metrics, rep):
    prom_service = check_prometheus_compose(m, compose, compose_info, rep)
    check_grafana(m, compose, prom_service, rep)
    check_dashboard(m['dashboard'], rep)
    jobs = {j['job_name'] for j in m['prometheus'].get('scrape_configs') or []}
    check_k8s_monitoring(m, k8s_docs, k8s_info, jobs, rep)
    check_hpa(m, k8s_docs, k8s_info, metrics, rep)


def self_test_mutations():
    """(what, mutate(inputs)) pairs, each of which the monitoring checks must catch."""
    def prom_job(i, name):
        return next(j for j in i['monitoring']['prometheus']['scrape_configs'] if j['job_name'] == name)

    def dash(fn):
        def m(i):
            d = json.loads(i['monitoring']['dashboard'])
            fn(d)
            i['monitoring']['dashboard'] = json.dumps(d)
        return m

    def k8s(kind, name, fn):
        def m(i):
            fn(next(d for d in i['k8s_example'] if d['kind'] == kind and d['metadata']['name'] == name))
        return m

    def rule(i):
        rule_doc = next(d for d in i['k8s_example'] if d['kind'] == 'PrometheusRule')
        rule_doc['spec']['groups'][0]['rules'][0]['for'] = '5m'

    return [
        ('monitoring: prometheus.yml misses scheduler-2', lambda i: prom_job(i, 'taskd-scheduler')['static_configs'][0]['targets'].pop()),
        ('monitoring: prometheus.yml scrapes workers on the wrong port', lambda i: prom_job(i, 'taskd-worker')['dns_sd_configs'][0].__setitem__('port', 9091)),
        ('monitoring: dashboard is not JSON', lambda i: i['monitoring'].__setitem__('dashboard', i['monitoring']['dashboard'][:-3])),
        ('monitoring: dashboard panel ids repeat', dash(lambda d: d['panels'][2].__setitem__('id', d['panels'][1]['id']))),
        ('monitoring: dashboard panel without datasource', dash(lambda d: d['panels'][1].pop('datasource'))),
        ('monitoring: dashboard panel without targets', dash(lambda d: d['panels'][1].__setitem__('targets', []))),
        ('monitoring: grafana provider path not the mount', lambda i: i['monitoring']['grafana_providers']['providers'][0]['options'].__setitem__('path', '/var/lib/grafana/dashboards')),
        ('monitoring: PrometheusRule out of step with alerts.yml', rule),
        ('monitoring: ServiceMonitor port name not on the Service', k8s('ServiceMonitor', 'taskd-scheduler', lambda d: d['spec']['endpoints'][0].__setitem__('port', 'metrics'))),
        ('monitoring: PodMonitor selects no worker', k8s('PodMonitor', 'taskd-worker', lambda d: d['spec']['selector']['matchLabels'].__setitem__('app.kubernetes.io/component', 'workers'))),
        ('monitoring: HPA on a queue the workers do not serve', k8s('HorizontalPodAutoscaler', 'worker', lambda d: d['spec']['metrics'][0]['external']['metric']['selector']['matchLabels'].__setitem__('queue', 'emails'))),
        ('monitoring: HPA metric no adapter rule serves', k8s('HorizontalPodAutoscaler', 'worker', lambda d: d['spec']['metrics'][0]['external']['metric'].__setitem__('name', 'taskd_queue_size'))),
        ('monitoring: worker Deployment keeps replicas under the HPA', k8s('Deployment', 'worker', lambda d: d['spec'].__setitem__('replicas', 2))),
    ]


# ---------------------------------------------------------------- the PrometheusRule, generated

PROMETHEUSRULE_HEAD = '''# GENERATED from deploy/prometheus/alerts.yml (the Compose Prometheus loads that file) by
#   python3 scripts/validate-deploy/check_monitoring.py --write-prometheusrule
# Edit alerts.yml and regenerate; scripts/validate-deploy.sh fails when the groups differ.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: taskd
  labels:
    app.kubernetes.io/name: taskd
    app.kubernetes.io/part-of: taskd
spec:
'''


def prometheusrule_text(root):
    text = read(root, f'{PROM_DIR}/alerts.yml')
    body = text[text.index('\ngroups:') + 1:]
    return PROMETHEUSRULE_HEAD + ''.join(('  ' + line if line.strip() else line) for line in body.splitlines(True))


if __name__ == '__main__':
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
    if sys.argv[1:] == ['--write-prometheusrule']:
        with open(os.path.join(root, PROMETHEUSRULE), 'w', encoding='utf-8') as f:
            f.write(prometheusrule_text(root))
        print(f'wrote {PROMETHEUSRULE}')
    elif len(sys.argv) == 3 and sys.argv[1] == '--promql-rules':
        with open(sys.argv[2], 'w', encoding='utf-8') as f:
            f.write(promql_rules(root))
    else:
        print('usage: check_monitoring.py --write-prometheusrule | --promql-rules OUT', file=sys.stderr)
        sys.exit(2)
