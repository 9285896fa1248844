#!/usr/bin/env python3
"""Project-specific checks of the deployment files, run by scripts/validate-deploy.sh.

Schema validity is left to the tools (compose's loader, kubeconform, hadolint, promtool);
this checks what they cannot know: that the files agree with the binaries and with each
other. Every TASKD_* environment is parsed by the binaries' own loadConfig (through
check-runtime.ts under tsx), ports in listen addresses, probes, healthchecks, Services
and published ports line up, scheduler address lists name exactly the schedulers that
exist, processes that bind beyond loopback have authentication, Kafka topic replication
fits the brokers, workers hold no database or Redis credentials nor the signing secret,
and the image receives every file the binaries load. The k8s checks run on the base and
on deploy/overlays/example; the monitoring files are checked by check_monitoring.py.
`--self-test` breaks the files in memory in known ways and fails unless each break is
caught.
"""
import argparse
import base64
import copy
import json
import os
import re
import subprocess
import sys
from urllib.parse import urlparse

import yaml

import check_monitoring

BINARIES = ('apiserver', 'scheduler', 'worker', 'notifier', 'migrate')
REQUIRED = {
    'apiserver': ['TASKD_DATABASE_URL', 'TASKD_SCHEDULER_ADDRS', 'TASKD_ADDR'],
    'scheduler': ['TASKD_DATABASE_URL', 'TASKD_REDIS_URL', 'TASKD_ADDR', 'TASKD_ADVERTISE_ADDR'],
    'worker': ['TASKD_SCHEDULER_ADDRS', 'TASKD_WORKER_SLOTS', 'TASKD_WORKER_QUEUES', 'TASKD_WORKER_HEALTH_ADDR'],
    'notifier': ['TASKD_DATABASE_URL', 'TASKD_ADDR'],
    'migrate': ['TASKD_DATABASE_URL'],
}
# DESIGN.md: workers speak only gRPC and hold no database or Redis credentials, nor the
# secret that signs tokens.
FORBIDDEN = {'worker': ['TASKD_DATABASE_URL', 'TASKD_REDIS_URL', 'TASKD_AUTH_HS256_SECRET']}
# Processes that call requireAuthBeyondLoopback (internal/config/config.ts) at start.
AUTH_BEYOND_LOOPBACK = ('apiserver', 'scheduler', 'notifier')
COMMAND_RE = re.compile(r'^cmd/([a-z]+)/main\.ts$')
LOOPBACK = ('127.', 'localhost', '::1')


class Report:
    def __init__(self, quiet=False):
        self.count = 0
        self.failures = []
        self.quiet = quiet

    def check(self, ok, what):
        self.count += 1
        if not ok:
            self.failures.append(what)
        return ok


class Runtime:
    """The real code's answers (check-runtime.ts), or a fallback when tsx is missing."""

    def __init__(self, root, tsx):
        self.root = root
        self.tsx = tsx
        self.config_keys = re.findall(r'^\s+(TASKD_[A-Z0-9_]+):', read(os.path.join(root, 'internal/config/config.ts')), re.M)
        self.cache = {}
        self.inputs_cache = {}
        self.proc = None

    def ask(self, request):
        if self.proc is None:
            self.proc = subprocess.Popen([self.tsx, 'scripts/validate-deploy/check-runtime.ts', 'serve'], cwd=self.root,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.proc.stdin.write(json.dumps(request) + '\n')
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f'check-runtime.ts serve exited ({self.proc.wait()}) on {list(request)}')
        return json.loads(line)

    def close(self):
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait()

    def fallback_config(self, case):
        """Without tsx: unknown keys by name, and the few settings the checks read, with
        the string defaults written in config.ts."""
        src = read(os.path.join(self.root, 'internal/config/config.ts'))
        defaults = dict(re.findall(r"(TASKD_[A-Z0-9_]+): z\.string\(\)\.default\('([^']*)'\)", src))
        defaults.update((k, v) for k, v in re.findall(r"(TASKD_[A-Z0-9_]+): list\(\['([^']*)'\]\)", src))
        env = dict(file_settings(case.get('file')), **case['env'])
        not_settings = ('TASKD_CONFIG_FILE', 'TASKD_SERVER', 'TASKD_TOKEN')  # config-input.ts NOT_SETTINGS
        unknown = [k for k in env if k.startswith('TASKD_') and k not in self.config_keys and k not in not_settings and not k.startswith('TASKD_TEST_')]
        if unknown:
            return {'where': case['where'], 'ok': False, 'error': f'unknown setting {", ".join(unknown)}'}
        cfg = {k: env.get(k, defaults.get(k)) for k in self.config_keys}
        for key in ('TASKD_SCHEDULER_ADDRS', 'TASKD_KAFKA_BROKERS', 'TASKD_WORKER_QUEUES'):
            cfg[key] = [x.strip() for x in (cfg.get(key) or '').split(',') if x.strip()]
        try:
            for key, out in (('TASKD_ADDR', 'addr'), ('TASKD_WORKER_HEALTH_ADDR', 'health')):
                m = re.match(r'^(\[[^\]]+\]|[^:]+):(\d{1,5})$', cfg[key] or '')
                if not m:
                    raise ValueError(f'{key}: expected host:port, got "{cfg[key]}"')
                cfg[out] = {'host': m.group(1).strip('[]'), 'port': int(m.group(2))}
        except ValueError as e:
            return {'where': case['where'], 'ok': False, 'error': str(e)}
        auth = any(cfg.get(k) for k in ('TASKD_AUTH_HS256_SECRET', 'TASKD_AUTH_JWKS_URL', 'TASKD_AUTH_JWKS_FILE'))  # authEnabled
        return {'where': case['where'], 'ok': True, 'config': cfg, 'auth': auth}

    def parse_configs(self, cases):
        if not cases:
            return []
        if not self.tsx:
            return [self.fallback_config(c) for c in cases]
        key = lambda c: json.dumps([c['env'], c.get('file')], sort_keys=True)
        todo = {key(c): c for c in cases if key(c) not in self.cache}
        if todo:
            for k, r in zip(todo, self.ask({'config': list(todo.values())})):
                self.cache[k] = r
        return [dict(self.cache[key(c)], where=c['where']) for c in cases]

    def metrics(self):
        """Every metric family taskd exports: [{name, type, labels}]."""
        if 'metrics' not in self.cache:
            if self.tsx:
                self.cache['metrics'] = self.ask({'metrics': True})
            else:
                src = read(os.path.join(self.root, 'internal/observability/metrics.ts'))
                found = []
                for m in re.finditer(r"new (Counter|Gauge|Histogram)\(\{ name: '(\w+)'([^\n]*)", src):
                    labels = re.search(r'labelNames: \[([^\]]*)\]', m.group(3))
                    found.append({'name': m.group(2), 'type': m.group(1).lower(), 'labels': re.findall(r"'(\w+)'", labels.group(1)) if labels else []})
                self.cache['metrics'] = found
        return self.cache['metrics']

    def inputs(self, entries):
        if tuple(entries) not in self.inputs_cache:
            self.inputs_cache[tuple(entries)] = self._inputs(entries)
        return self.inputs_cache[tuple(entries)]

    def _inputs(self, entries):
        return self.ask({'inputs': list(entries)})


def file_settings(text):
    """A config file's settings as TASKD_* variables (lists joined), as loadConfig reads them."""
    doc = yaml.safe_load(text) if text else None
    return {f'TASKD_{k.upper()}': ','.join(map(str, v)) if isinstance(v, list) else str(v) for k, v in (doc or {}).items()}


def config_file(container, volumes, objs, env, rep, w):
    """The text of the file TASKD_CONFIG_FILE names, from the ConfigMap volume it is on."""
    path = env.get('TASKD_CONFIG_FILE')
    if not path:
        return None
    mounts = [m for m in container.get('volumeMounts') or [] if path.startswith(m['mountPath'].rstrip('/') + '/')]
    if not rep.check(bool(mounts), f'{w}: TASKD_CONFIG_FILE {path} is on no volume mount'):
        return None
    mount = max(mounts, key=lambda m: len(m['mountPath']))
    rep.check('subPath' not in mount, f'{w}: the config file is mounted with subPath, which Kubernetes never updates: edits would not reload')
    cm = (volumes.get(mount['name']) or {}).get('configMap')
    if not rep.check(cm is not None, f'{w}: TASKD_CONFIG_FILE {path} is not on a ConfigMap volume'):
        return None
    rel = path[len(mount['mountPath'].rstrip('/')) + 1:]
    key = next((i['key'] for i in cm.get('items') or [] if i['path'] == rel), rel if not cm.get('items') else None)
    data = (objs.get(('ConfigMap', cm['name'])) or {}).get('data') or {}
    if not rep.check(key in data, f'{w}: ConfigMap {cm["name"]} has no key for {path}'):
        return None
    return data[key]


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def binary_of(command, root, rep, where):
    """The binary a container runs, or None when it runs no taskd binary."""
    if not isinstance(command, list):
        command = str(command or '').split()
    scripts = [a for a in command if COMMAND_RE.match(str(a))]
    if not scripts:
        return None
    script = scripts[0]
    rep.check(command[:3] == ['node', '--import', 'tsx'] and command[3:] == [script],
              f'{where}: command must be exactly node --import tsx {script}, is {command}')
    rep.check(os.path.isfile(os.path.join(root, script)), f'{where}: {script} does not exist')
    return COMMAND_RE.match(script).group(1)


def check_taskd_env(rep, where, binary, env, parsed):
    """Checks shared by compose and k8s on one container's TASKD_* environment."""
    for key in REQUIRED.get(binary, []):
        rep.check(bool(env.get(key)), f'{where}: {binary} needs {key}')
    for key in FORBIDDEN.get(binary, []):
        rep.check(key not in env, f'{where}: {binary} must not get {key}')
    if not rep.check(parsed['ok'], f'{where}: configuration refused by loadConfig: {parsed.get("error")}'):
        return None
    cfg = parsed.get('config')
    if cfg is None:
        return None
    listen = cfg['health'] if binary == 'worker' else cfg['addr']
    key = 'TASKD_WORKER_HEALTH_ADDR' if binary == 'worker' else 'TASKD_ADDR'
    if binary != 'migrate':
        rep.check(not listen['host'].startswith(LOOPBACK), f'{where}: {key} {listen["host"]} is loopback: unreachable from outside the container')
        rep.check(listen['port'] != 0, f'{where}: {key} needs a fixed port for probes')
    if binary in AUTH_BEYOND_LOOPBACK and not listen['host'].startswith(LOOPBACK) and 'auth' in parsed:
        rep.check(parsed['auth'], f'{where}: {binary} binds {listen["host"]} without authentication, which requireAuthBeyondLoopback refuses (set TASKD_AUTH_HS256_SECRET or a JWKS)')
    brokers = cfg.get('TASKD_KAFKA_BROKERS') or []
    if brokers and binary == 'scheduler':
        rep.check(int(cfg.get('TASKD_KAFKA_REPLICATION') or 3) <= len(brokers),
                  f'{where}: TASKD_KAFKA_REPLICATION {cfg.get("TASKD_KAFKA_REPLICATION")} exceeds the {len(brokers)} broker(s) of TASKD_KAFKA_BROKERS: topic creation fails')
    for url in cfg.get('TASKD_SCHEDULER_ADDRS', []) if binary in ('apiserver', 'worker') else []:
        u = urlparse(url)
        rep.check(u.scheme == 'http' and u.hostname and u.port, f'{where}: scheduler address {url!r} is not http://host:port')
    return {'listen': listen['port'], 'cfg': cfg}


def env_hosts(cfg, keys):
    hosts = []
    for k in keys:
        v = cfg.get(k)
        for url in (v if isinstance(v, list) else [v] if v else []):
            hosts.append((k, urlparse(url).hostname))
    return hosts


# ---------------------------------------------------------------- compose

INTERP = re.compile(r'\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}')


def interpolate(v):
    if isinstance(v, str):
        return INTERP.sub(lambda m: os.environ.get(m.group(1), m.group(2) or ''), v)
    if isinstance(v, list):
        return [interpolate(x) for x in v]
    if isinstance(v, dict):
        return {k: interpolate(x) for k, x in v.items()}
    return v


def compose_env(svc):
    env = svc.get('environment') or {}
    if isinstance(env, list):
        env = dict(e.split('=', 1) if '=' in e else (e, '') for e in env)
    return {str(k): '' if v is None else str(v) for k, v in env.items()}


def depends(svc):
    d = svc.get('depends_on') or {}
    if isinstance(d, list):
        return {name: {'condition': 'service_started'} for name in d}
    return {name: (c or {'condition': 'service_started'}) for name, c in d.items()}


def check_compose(doc, rt, rep):
    doc = interpolate(doc)
    services = doc.get('services') or {}
    rep.check(bool(services), 'compose: no services')
    volumes = doc.get('volumes') or {}
    for name, svc in services.items():
        w = f'compose {name}'
        rep.check('image' in svc or 'build' in svc, f'{w}: neither image nor build')
        hc = svc.get('healthcheck') or {}
        rep.check(bool(hc.get('test')) and not hc.get('disable'), f'{w}: no healthcheck')
        for dep, cond in depends(svc).items():
            rep.check(dep in services, f'{w}: depends_on unknown service {dep}')
            c = cond.get('condition', 'service_started')
            rep.check(c in ('service_started', 'service_healthy', 'service_completed_successfully'), f'{w}: bad condition {c}')
            if c == 'service_healthy' and dep in services:
                rep.check(bool((services[dep].get('healthcheck') or {}).get('test')), f'{w}: waits for {dep} to be healthy, which has no healthcheck')
        for v in svc.get('volumes') or []:
            src = v.split(':')[0] if isinstance(v, str) else v.get('source', '')
            if src and not src.startswith(('.', '/', '~')):
                rep.check(src in volumes, f'{w}: volume {src} not declared')
    # depends_on must not loop
    state = {}

    def visit(n, path):
        if state.get(n) == 1:
            rep.check(False, f'compose: depends_on cycle {" -> ".join(path + [n])}')
            return
        if state.get(n) == 2 or n not in services:
            return
        state[n] = 1
        for d in depends(services[n]):
            visit(d, path + [n])
        state[n] = 2
    for n in services:
        visit(n, [])

    # the taskd containers
    taskd = {}
    for name, svc in services.items():
        b = binary_of(svc.get('command'), rt.root, rep, f'compose {name}')
        if b:
            taskd[name] = (b, compose_env(svc))
    parsed = rt.parse_configs([{'where': f'compose {n}', 'env': e} for n, (_, e) in taskd.items()])
    info = {}
    for (name, (b, env)), p in zip(taskd.items(), parsed):
        w = f'compose {name}'
        svc = services[name]
        r = check_taskd_env(rep, w, b, env, p)
        if not r:
            continue
        info[name] = (b, r)
        port = r['listen']
        test = ' '.join(map(str, (svc.get('healthcheck') or {}).get('test') or []))
        rep.check(re.search(rf'(127\.0\.0\.1|localhost):{port}/(healthz|readyz)\b', test) is not None,
                  f'{w}: healthcheck does not probe /healthz or /readyz on its port {port}: {test}')
        for spec in svc.get('ports') or []:
            target = int(str(spec).rsplit(':', 1)[-1].split('/')[0]) if not isinstance(spec, dict) else int(spec['target'])
            rep.check(target == port, f'{w}: publishes container port {target}, listens on {port}')
        if svc.get('read_only'):
            tmpfs = svc.get('tmpfs') or []
            rep.check('/tmp' in ([tmpfs] if isinstance(tmpfs, str) else tmpfs), f'{w}: read_only needs a tmpfs on /tmp (tsx compile cache)')
        deps = depends(svc)
        hosts = env_hosts(r['cfg'], ['TASKD_DATABASE_URL', 'TASKD_REDIS_URL'])
        hosts += [('TASKD_KAFKA_BROKERS', b.rsplit(':', 1)[0]) for b in r['cfg'].get('TASKD_KAFKA_BROKERS') or []]
        for key, host in hosts:
            rep.check(host in services, f'{w}: {key} names host {host}, which is no service')
            rep.check(deps.get(host, {}).get('condition') == 'service_healthy', f'{w}: must depend on {host} being healthy ({key})')
    schedulers = {n: r for n, (b, r) in info.items() if b == 'scheduler'}
    rep.check(len(schedulers) >= 2, f'compose: {len(schedulers)} scheduler(s); the scheduler is active-passive, run 2+')
    expected = {f'http://{n}:{r["listen"]}' for n, r in schedulers.items()}
    for name, (b, r) in info.items():
        if b == 'scheduler':
            adv = r['cfg'].get('TASKD_ADVERTISE_ADDR')
            rep.check(adv == f'http://{name}:{r["listen"]}', f'compose {name}: TASKD_ADVERTISE_ADDR {adv} is not http://{name}:{r["listen"]}')
        if b in ('apiserver', 'worker'):
            got = set(r['cfg']['TASKD_SCHEDULER_ADDRS'])
            rep.check(got == expected, f'compose {name}: TASKD_SCHEDULER_ADDRS {sorted(got)} != the schedulers {sorted(expected)}')
    rep.check(any(b == 'apiserver' and services[n].get('ports') for n, (b, _) in info.items()), 'compose: no apiserver publishes a port')
    rep.check(any(b == 'worker' for b, _ in info.values()), 'compose: no worker')
    return info


# ---------------------------------------------------------------- kubernetes

NAMESPACED_EXEMPT = {'Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass'}


def k8s_env(container, objs, pod_name, rep, w):
    """Resolves a container's environment as the kubelet would, for one pod name."""
    env = {}

    def source(kind, ref):
        o = objs.get((kind, ref.get('name')))
        if not o:
            rep.check(bool(ref.get('optional')), f'{w}: refers to missing {kind} {ref.get("name")}')
            return {}
        if kind == 'Secret':
            data = {k: base64.b64decode(v).decode() for k, v in (o.get('data') or {}).items()}
            data.update(o.get('stringData') or {})
            return data
        return dict(o.get('data') or {})

    for ef in container.get('envFrom') or []:
        for kind, key in (('ConfigMap', 'configMapRef'), ('Secret', 'secretRef')):
            if key in ef:
                env.update({(ef.get('prefix') or '') + k: v for k, v in source(kind, ef[key]).items()})
    for e in container.get('env') or []:
        if 'value' in e:
            env[e['name']] = re.sub(r'\$\(([A-Za-z_][A-Za-z0-9_]*)\)', lambda m: env.get(m.group(1), m.group(0)), str(e['value']))
            continue
        vf = e.get('valueFrom') or {}
        if 'configMapKeyRef' in vf or 'secretKeyRef' in vf:
            kind, ref = ('ConfigMap', vf['configMapKeyRef']) if 'configMapKeyRef' in vf else ('Secret', vf['secretKeyRef'])
            data = source(kind, ref)
            if rep.check(ref.get('key') in data or ref.get('optional'), f'{w}: {kind} {ref.get("name")} has no key {ref.get("key")}'):
                if ref.get('key') in data:
                    env[e['name']] = data[ref['key']]
        elif 'fieldRef' in vf:
            fp = vf['fieldRef'].get('fieldPath')
            env[e['name']] = {'metadata.name': pod_name, 'metadata.namespace': 'NAMESPACE', 'status.podIP': '10.0.0.1'}.get(fp, f'<{fp}>')
        else:
            env[e['name']] = '<resource>'
    return env


def probe_port(probe, ports):
    port = ((probe or {}).get('httpGet') or {}).get('port')
    if isinstance(port, str):
        return ports.get(port)
    return port


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_k8s(docs, rt, rep):
    objs = {}
    for d in docs:
        objs[(d['kind'], d['metadata']['name'])] = d
    nss = [d['metadata']['name'] for d in docs if d['kind'] == 'Namespace']
    rep.check(len(nss) == 1, f'k8s: expected one Namespace, found {nss}')
    for d in docs:
        if d['kind'] not in NAMESPACED_EXEMPT:
            rep.check(d['metadata'].get('namespace') in nss, f'k8s {d["kind"]}/{d["metadata"]["name"]}: not in namespace {nss}')
    services = [d for d in docs if d['kind'] == 'Service']
    workloads = [d for d in docs if d['kind'] in ('Deployment', 'StatefulSet', 'DaemonSet', 'Job')]
    cases, meta = [], []
    for wl in workloads:
        spec = wl['spec']
        pod = spec['template']['spec']
        labels = spec['template']['metadata'].get('labels') or {}
        rep.check(matches((spec.get('selector') or {}).get('matchLabels'), labels), f'k8s {wl["kind"]}/{wl["metadata"]["name"]}: selector does not match its pod labels')
        replicas = spec.get('replicas', 1)
        pod_names = [f'{wl["metadata"]["name"]}-{i}' for i in range(replicas)] if wl['kind'] == 'StatefulSet' else [f'{wl["metadata"]["name"]}-5d9c7b6f4-abcde']
        links = pod.get('enableServiceLinks', True)
        for s in services if links else []:
            rep.check(not s['metadata']['name'].upper().replace('-', '_').startswith('TASKD'),
                      f'k8s {wl["metadata"]["name"]}: service links of Service {s["metadata"]["name"]} inject TASKD_* variables that loadConfig refuses; set enableServiceLinks: false')
        volumes = {v['name']: v for v in pod.get('volumes') or []}
        psc = pod.get('securityContext') or {}
        for c in pod.get('containers') or []:
            w = f'k8s {wl["kind"]}/{wl["metadata"]["name"]}/{c["name"]}'
            b = binary_of((c.get('command') or []) + (c.get('args') or []), rt.root, rep, w)
            csc = c.get('securityContext') or {}
            rep.check(csc.get('runAsNonRoot', psc.get('runAsNonRoot')) is True, f'{w}: runAsNonRoot is not set')
            rep.check(csc.get('allowPrivilegeEscalation') is False, f'{w}: allowPrivilegeEscalation is not false')
            res = c.get('resources') or {}
            for part in ('requests', 'limits'):
                for r in ('cpu', 'memory'):
                    rep.check(r in (res.get(part) or {}), f'{w}: no resources.{part}.{r}')
            if not b:
                continue
            if csc.get('readOnlyRootFilesystem'):
                tmp = [m for m in c.get('volumeMounts') or [] if m.get('mountPath') == '/tmp']
                rep.check(bool(tmp) and 'emptyDir' in volumes.get(tmp[0]['name'], {}), f'{w}: readOnlyRootFilesystem needs an emptyDir on /tmp (tsx compile cache; tsx fails to start without it)')
            for pn in pod_names:
                env = k8s_env(c, objs, pn, rep, w)
                case = {'where': f'{w} ({pn})', 'env': {k: v for k, v in env.items() if k.startswith('TASKD_')}}
                text = config_file(c, volumes, objs, env, rep, w)
                if text is not None:
                    case['file'] = text
                    settings = file_settings(text)
                    shadowed = sorted(k for k in settings if k in env)
                    rep.check(not shadowed, f'{w}: {shadowed} set in the environment override the config file, so its reloads never change them')
                    env = dict(settings, **env)
                cases.append(case)
                meta.append((wl, c, b, pn, env))
    parsed = rt.parse_configs(cases)
    by_binary = {}
    for (wl, c, b, pn, env), p in zip(meta, parsed):
        w = p['where']
        r = check_taskd_env(rep, w, b, env, p)
        if not r:
            continue
        by_binary.setdefault(b, []).append((wl, c, pn, r))
        ports = {p['name']: p['containerPort'] for p in c.get('ports') or [] if 'name' in p}
        rep.check(r['listen'] in [p['containerPort'] for p in c.get('ports') or []], f'{w}: no containerPort {r["listen"]}')
        for kind, path in (('livenessProbe', '/healthz'), ('readinessProbe', '/readyz'), ('startupProbe', None)):
            probe = c.get(kind)
            if probe is None and kind == 'startupProbe':
                continue
            if not rep.check(probe is not None, f'{w}: no {kind}'):
                continue
            got = (probe.get('httpGet') or {}).get('path')
            rep.check(path is None and got in ('/healthz', '/readyz') or got == path, f'{w}: {kind} path {got}, want {path}')
            rep.check(probe_port(probe, ports) == r['listen'], f'{w}: {kind} port {probe_port(probe, ports)} is not the listen port {r["listen"]}')
    # Services route to pods that listen on the target port.
    for s in services:
        w = f'k8s Service/{s["metadata"]["name"]}'
        targets = [wl for wl in workloads if matches(s['spec'].get('selector'), wl['spec']['template']['metadata'].get('labels') or {})]
        if not rep.check(bool(targets), f'{w}: selects no workload'):
            continue
        for port in s['spec'].get('ports') or []:
            tp = port.get('targetPort', port['port'])
            for wl in targets:
                cps = [p for c in wl['spec']['template']['spec']['containers'] for p in c.get('ports') or []]
                rep.check(any(p.get('name') == tp or p['containerPort'] == tp for p in cps), f'{w}: targetPort {tp} is no port of {wl["metadata"]["name"]}')
    # Schedulers: a StatefulSet behind a headless Service; everyone lists every pod.
    scheds = by_binary.get('scheduler', [])
    sts = {wl['metadata']['name']: wl for wl, _, _, _ in scheds}
    rep.check(len(sts) == 1 and all(wl['kind'] == 'StatefulSet' for wl in sts.values()), f'k8s: schedulers must run as one StatefulSet (stable names), found {list(sts)}')
    expected = set()
    for name, wl in sts.items():
        svc = objs.get(('Service', wl['spec'].get('serviceName')))
        if rep.check(svc is not None, f'k8s StatefulSet/{name}: serviceName {wl["spec"].get("serviceName")} is no Service'):
            rep.check(svc['spec'].get('clusterIP') == 'None', f'k8s Service/{svc["metadata"]["name"]}: must be headless (clusterIP: None) for per-pod DNS names')
            rep.check(matches(svc['spec'].get('selector'), wl['spec']['template']['metadata']['labels']), f'k8s Service/{svc["metadata"]["name"]}: does not select the scheduler pods')
        rep.check(wl['spec'].get('replicas', 1) >= 2, f'k8s StatefulSet/{name}: run 2+ schedulers')
        pdbs = [d for d in docs if d['kind'] == 'PodDisruptionBudget' and matches((d['spec'].get('selector') or {}).get('matchLabels'), wl['spec']['template']['metadata']['labels'])]
        if rep.check(len(pdbs) == 1, f'k8s StatefulSet/{name}: needs one PodDisruptionBudget'):
            ma = pdbs[0]['spec'].get('minAvailable')
            rep.check(isinstance(ma, int) and 1 <= ma < wl['spec'].get('replicas', 1), f'k8s PodDisruptionBudget/{pdbs[0]["metadata"]["name"]}: minAvailable {ma} must be at least 1 and below replicas')
    for wl, c, pn, r in scheds:
        svc_name = wl['spec'].get('serviceName')
        want = f'http://{pn}.{svc_name}:{r["listen"]}'
        expected.add(want)
        adv = r['cfg'].get('TASKD_ADVERTISE_ADDR')
        rep.check(adv == want, f'k8s {pn}: TASKD_ADVERTISE_ADDR {adv}, want {want}')
    for b in ('apiserver', 'worker'):
        rep.check(bool(by_binary.get(b)), f'k8s: no {b}')
        for wl, c, pn, r in by_binary.get(b, []):
            got = set(r['cfg']['TASKD_SCHEDULER_ADDRS'])
            rep.check(got == expected, f'k8s {wl["metadata"]["name"]}: TASKD_SCHEDULER_ADDRS {sorted(got)} != the scheduler pods {sorted(expected)}')
    for wl, _, _, _ in by_binary.get('apiserver', [])[:1]:
        rep.check(wl['spec'].get('replicas', 1) >= 2, f'k8s {wl["metadata"]["name"]}: run 2+ apiservers')
    return by_binary


# ---------------------------------------------------------------- Dockerfile and image contents

def dockerfile_instructions(text):
    lines, cur = [], ''
    for raw in text.splitlines():
        s = raw.strip()
        if not cur and (not s or s.startswith('#')):
            continue
        if s.startswith('#') and cur:
            continue
        if s.endswith('\\'):
            cur += s[:-1] + ' '
            continue
        cur += s
        if cur.strip():
            op, _, rest = cur.strip().partition(' ')
            lines.append((op.upper(), rest.strip()))
        cur = ''
    return lines


def ignore_rules(text):
    rules = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith('#'):
            continue
        neg = s.startswith('!')
        pat = os.path.normpath(s[1:].strip() if neg else s).lstrip('/')
        rx = ''
        i = 0
        while i < len(pat):
            if pat.startswith('**/', i):
                rx, i = rx + '(?:.*/)?', i + 3
            elif pat.startswith('**', i):
                rx, i = rx + '.*', i + 2
            elif pat[i] == '*':
                rx, i = rx + '[^/]*', i + 1
            elif pat[i] == '?':
                rx, i = rx + '[^/]', i + 1
            else:
                rx, i = rx + re.escape(pat[i]), i + 1
        rules.append((re.compile(rx + r'\Z'), neg))
    return rules


def ignored(path, rules):
    """Docker's .dockerignore semantics: the last rule matching the path or a parent wins."""
    parts = path.split('/')
    prefixes = ['/'.join(parts[:i]) for i in range(1, len(parts) + 1)]
    out = False
    for rx, neg in rules:
        if any(rx.match(p) for p in prefixes):
            out = not neg
    return out


def check_image(root, dockerfile, dockerignore, pkg, rt, rep):
    ins = dockerfile_instructions(dockerfile)
    args = {}
    stages = []
    for op, rest in ins:
        if op == 'ARG' and not stages:
            k, _, v = rest.partition('=')
            args[k.strip()] = v.strip().strip('"')
        if op == 'FROM':
            stages.append({'from': re.sub(r'\$\{?(\w+)\}?', lambda m: args.get(m.group(1), m.group(0)), rest.split()[0]), 'ins': []})
        elif stages:
            stages[-1]['ins'].append((op, rest))
    rep.check(len(stages) >= 2, 'Dockerfile: not multi-stage')
    final = stages[-1] if stages else {'from': '', 'ins': []}
    node_major = re.match(r'node:(\d+)', final['from'])
    rep.check(final['from'] == 'node:24-bookworm-slim', f'Dockerfile: runtime base is {final["from"]}, want node:24-bookworm-slim')
    want = re.search(r'>=\s*(\d+)', (pkg.get('engines') or {}).get('node', ''))
    rep.check(bool(node_major and want and int(node_major.group(1)) >= int(want.group(1))), 'Dockerfile: base image Node major below package.json engines')
    runs = ' '.join(r for s in stages for op, r in s['ins'] if op == 'RUN')
    rep.check(re.search(r'npm ci\b[^&;]*--omit=dev', runs) is not None, 'Dockerfile: no npm ci --omit=dev')
    rep.check(not any(op == 'HEALTHCHECK' for s in stages for op, _ in s['ins']), 'Dockerfile: HEALTHCHECK present (compose and k8s do health)')
    users = [r for op, r in final['ins'] if op == 'USER']
    rep.check(bool(users) and users[-1].split(':')[0] not in ('root', '0'), f'Dockerfile: runtime user is {users[-1] if users else "root"}')
    rep.check(any(op == 'ENV' and re.search(r'\bNODE_ENV[= ]production\b', r) for op, r in final['ins']), 'Dockerfile: NODE_ENV=production not set in the runtime stage')
    cmd = [r for op, r in final['ins'] if op == 'CMD']
    try:
        cmd_list = json.loads(cmd[-1]) if cmd else []
    except ValueError:
        cmd_list = cmd[-1].split()
    if rep.check(bool(cmd_list), 'Dockerfile: no CMD'):
        binary_of(cmd_list, root, rep, 'Dockerfile CMD')
    deps = pkg.get('dependencies') or {}
    rep.check('tsx' in deps, 'package.json: tsx must be in dependencies (the image runs node --import tsx after npm ci --omit=dev)')

    # What reaches the runtime stage from the build context.
    rules = ignore_rules(dockerignore)
    copied = []
    for op, rest in final['ins']:
        if op in ('COPY', 'ADD') and '--from' not in rest:
            words = [w for w in rest.split() if not w.startswith('--')]
            for src in words[:-1]:
                src = src.rstrip('/')
                rep.check(os.path.exists(os.path.join(root, src)), f'Dockerfile: COPY {src}: no such path')
                copied.append(src)

    def in_image(path):
        return any(path == c or path.startswith(c + '/') for c in copied) and not ignored(path, rules)

    entries = sorted(f'cmd/{b}/main.ts' for b in BINARIES if os.path.isfile(os.path.join(root, f'cmd/{b}/main.ts')))
    needed = ['package.json', 'package-lock.json']
    if rt.tsx:
        got = rt.inputs(entries)
        modules = got['files']
        for p in got['packages']:
            rep.check(p in deps, f'image: the binaries import {p}, which is not in package.json dependencies (npm ci --omit=dev leaves it out)')
    else:
        # Untraced: every non-test module under the source folders the binaries import.
        modules = [os.path.relpath(os.path.join(dp, x), root) for top in ('cmd', 'internal', 'gen')
                   for dp, _, fs in os.walk(os.path.join(root, top)) for x in fs
                   if x.endswith('.ts') and not x.endswith('.test.ts') and os.sep + 'testing' not in dp]
    needed += modules
    # Files read at run time next to a module (new URL('./x', import.meta.url)).
    for f in modules:
        for m in re.finditer(r"new URL\(\s*[`'\"]\./([^`'\"$]*)", read(os.path.join(root, f))):
            target = os.path.normpath(os.path.join(os.path.dirname(f), m.group(1)))
            if os.path.isdir(os.path.join(root, target)):
                for dp, _, fs in os.walk(os.path.join(root, target)):
                    needed += [os.path.relpath(os.path.join(dp, x), root) for x in fs]
            else:
                needed.append(target)
    missing = sorted(p for p in set(needed) if not in_image(p))
    rep.check(not missing, f'image: files the binaries load are not copied or are .dockerignored: {missing[:10]}')
    return len(set(needed))


# ---------------------------------------------------------------- main

def monitoring(inputs, rt, rep):
    compose_info = check_compose(inputs['compose'], rt, Report(True))
    k8s_info = check_k8s(inputs['k8s_example'], rt, Report(True))
    check_monitoring.check_monitoring(inputs['monitoring'], inputs['compose'], compose_info, inputs['k8s_example'], k8s_info, rt.metrics(), rep)


def run_all(inputs, rt, quiet=False, only=None):
    reps = {}
    for name, fn in (('compose', lambda r: check_compose(inputs['compose'], rt, r)),
                     ('k8s', lambda r: check_k8s(inputs['k8s'], rt, r)),
                     ('k8s-example', lambda r: check_k8s(inputs['k8s_example'], rt, r)),
                     ('monitoring', lambda r: monitoring(inputs, rt, r)),
                     ('image', lambda r: inputs.__setitem__('image_files', check_image(rt.root, inputs['dockerfile'], inputs['dockerignore'], inputs['pkg'], rt, r)))):
        if only and name != only:
            continue
        rep = Report(quiet)
        fn(rep)
        reps[name] = rep
    return reps


def self_test(inputs, rt):
    """Each mutation must make at least one check fail."""
    def compose(fn):
        def m(i):
            fn(i['compose'])
        return m

    def k8s(kind, name, fn):
        def m(i):
            fn(next(d for d in i['k8s'] if d['kind'] == kind and d['metadata']['name'] == name))
        return m

    def first_taskd(doc, binary):
        return next(s for s in doc['services'].values() if f'cmd/{binary}/main.ts' in (s.get('command') or []))

    def k8s_container(d):
        return d['spec']['template']['spec']['containers'][0]

    mutations = [
        ('compose: unknown TASKD_ variable', compose(lambda d: first_taskd(d, 'apiserver')['environment'].__setitem__('TASKD_TYPO', '1'))),
        ('compose: depends_on an unknown service', compose(lambda d: first_taskd(d, 'worker').__setitem__('depends_on', {'nosuch': {'condition': 'service_healthy'}}))),
        ('compose: postgres without healthcheck', compose(lambda d: d['services']['postgres'].pop('healthcheck', None))),
        ('compose: worker given database credentials', compose(lambda d: first_taskd(d, 'worker')['environment'].__setitem__('TASKD_DATABASE_URL', 'postgres://x@postgres/x'))),
        ('compose: apiserver listening on loopback', compose(lambda d: first_taskd(d, 'apiserver')['environment'].__setitem__('TASKD_ADDR', '127.0.0.1:8080'))),
        ('k8s: three schedulers, two addresses', k8s('StatefulSet', 'scheduler', lambda d: d['spec'].__setitem__('replicas', 3))),
        ('k8s: readiness probe on the wrong port', k8s('Deployment', 'apiserver', lambda d: k8s_container(d)['readinessProbe']['httpGet'].__setitem__('port', 9999))),
        ('k8s: worker containerPort not its health port', k8s('Deployment', 'worker', lambda d: k8s_container(d)['ports'][0].__setitem__('containerPort', 9091))),
        ('k8s: read-only root without /tmp', k8s('Deployment', 'worker', lambda d: k8s_container(d).__setitem__('volumeMounts', [m for m in k8s_container(d)['volumeMounts'] if m['mountPath'] != '/tmp']))),
        ('k8s: worker config file mounted with subPath', k8s('Deployment', 'worker', lambda d: next(m for m in k8s_container(d)['volumeMounts'] if m['mountPath'] == '/etc/taskd').__setitem__('subPath', 'taskd.yaml'))),
        ('k8s: worker environment shadows the config file', k8s('Deployment', 'worker', lambda d: k8s_container(d)['env'].append({'name': 'TASKD_WORKER_SLOTS', 'value': '4'}))),
        ('k8s: worker config file with a misspelt key', k8s('ConfigMap', 'worker-config', lambda d: d['data'].__setitem__('taskd.yaml', 'worker_slot: 4\n'))),
        ('image: migrations left out by .dockerignore', lambda i: i.__setitem__('dockerignore', i['dockerignore'] + '\ninternal/storage/migrations\n')),
        ('compose: notifier without authentication', compose(lambda d: first_taskd(d, 'notifier')['environment'].pop('TASKD_AUTH_HS256_SECRET'))),
        ('compose: topic replication above the brokers', compose(lambda d: first_taskd(d, 'scheduler')['environment'].__setitem__('TASKD_KAFKA_REPLICATION', '3'))),
        ('compose: worker given the signing secret', compose(lambda d: first_taskd(d, 'worker')['environment'].__setitem__('TASKD_AUTH_HS256_SECRET', 'x' * 40))),
    ] + check_monitoring.self_test_mutations()
    bad = []
    for what, mutate in mutations:
        i = copy.deepcopy(inputs)
        mutate(i)
        reps = run_all(i, rt, quiet=True, only=what.split(':')[0])
        caught = sum(len(r.failures) for r in reps.values())
        print(f'  self-test {"ok    " if caught else "MISSED"} {what}' + (f' ({caught} failure(s))' if caught else ''))
        if not caught:
            bad.append(what)
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--root', required=True)
    ap.add_argument('--compose', required=True)
    ap.add_argument('--k8s', required=True, help='rendered manifests of the base (kustomize output)')
    ap.add_argument('--k8s-example', required=True, help='rendered manifests of deploy/overlays/example (base, monitoring, autoscaling)')
    ap.add_argument('--tsx', default='', help='tsx binary; without it, env keys are checked by name only')
    ap.add_argument('--self-test', action='store_true')
    a = ap.parse_args()
    with open(a.compose, encoding='utf-8') as f:
        compose_doc = yaml.safe_load(f)
    with open(a.k8s, encoding='utf-8') as f:
        k8s_docs = [d for d in yaml.safe_load_all(f) if d]
    with open(a.k8s_example, encoding='utf-8') as f:
        k8s_example = [d for d in yaml.safe_load_all(f) if d]
    inputs = {
        'compose': compose_doc,
        'k8s': k8s_docs,
        'k8s_example': k8s_example,
        'monitoring': check_monitoring.load_inputs(a.root),
        'dockerfile': read(os.path.join(a.root, 'Dockerfile')),
        'dockerignore': read(os.path.join(a.root, '.dockerignore')),
        'pkg': json.loads(read(os.path.join(a.root, 'package.json'))),
    }
    rt = Runtime(a.root, a.tsx or None)
    reps = run_all(inputs, rt)
    failed = 0
    for name, rep in reps.items():
        extra = f', {inputs["image_files"]} files the binaries load' if name == 'image' else ''
        print(f'  {name}: {rep.count} checks, {len(rep.failures)} failed{extra}')
        for f in rep.failures:
            print(f'    FAIL {f}')
        failed += len(rep.failures)
    if not rt.tsx:
        print('  note: tsx not found (run npm ci): TASKD_* keys checked by name only, not parsed by loadConfig; image contents not traced')
    try:
        if a.self_test and not failed:
            missed = self_test(inputs, rt)
            if missed:
                print(f'  self-test: {len(missed)} mutation(s) not caught: the checks are broken')
                return 1
    finally:
        rt.close()
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
