# syntax=docker/dockerfile:1
# One image for every taskd binary; the command picks which one runs:
#   node --import tsx cmd/apiserver/main.ts   (the default)
#   node --import tsx cmd/scheduler/main.ts
#   node --import tsx cmd/worker/main.ts
#   node --import tsx cmd/notifier/main.ts    (webhooks and email from events)
#   node --import tsx cmd/migrate/main.ts     (migrations also run at apiserver/scheduler/notifier start)
# No HEALTHCHECK: docker-compose.yml and deploy/k8s/ probe /healthz and /readyz themselves.
# Every process also serves /metrics (Prometheus) on the port of its probes.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- deps: production node_modules only ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the runtime dependencies' install scripts are not needed here.
# The `node` package's preinstall would download a second Node binary (the image has
# its own Node 24), esbuild's postinstall only verifies the @esbuild/<platform> binary
# that npm installs anyway, and protobufjs's only prints hints. The `node` package is
# removed so nothing can pick up its shim ahead of the image's Node.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/node node_modules/.bin/node \
 && npm cache clean --force

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Everything is owned by root and only readable by the runtime user: the process
# cannot change its own code. tsx keeps its compile cache under $TMPDIR (/tmp), which
# is the only place that has to be writable (k8s mounts an emptyDir there).
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY gen ./gen
COPY internal ./internal
COPY cmd ./cmd
# The node image's unprivileged user, by number so runAsNonRoot can verify it.
USER 1000:1000
# 8080: TASKD_ADDR of apiserver, scheduler and notifier; 9090: TASKD_WORKER_HEALTH_ADDR of workers.
EXPOSE 8080 9090
CMD ["node", "--import", "tsx", "cmd/apiserver/main.ts"]
