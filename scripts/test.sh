#!/usr/bin/env bash
# The one test command (`npm test`; `npm test -- <vitest args>` passes them on).
# Works on a fresh clone: installs npm dependencies if missing and the Postgres
# and Redis server packages the integration tests start, the gRPC clients the
# reflection tests run (scripts/ensure-grpcurl.sh) and the Kafka broker jars
# (scripts/ensure-kafka.sh; needs Java 17+ and Maven), then runs both vitest
# projects (unit and int) in one `vitest run` and exits with its status. The int project
# includes scripts/validate-deploy.sh (test/deploy/validate-deploy.int.test.ts), which
# needs Go and python3-venv and builds its tools on first use (about 3 minutes on this
# 2-core machine, then cached under .cache/; about 10 s a run after that).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/vitest ]; then
  echo "test.sh: node_modules/.bin/vitest is missing; running npm ci"
  npm ci
fi
bash scripts/ensure-system-deps.sh
# grpcurl and a Python grpcio venv for the reflection tests (test/e2e/grpcurl.int.test.ts).
bash scripts/ensure-grpcurl.sh
# Kafka broker jars (pinned, from Maven Central into .cache/kafka) for the test Kafka of test/global-setup.ts.
bash scripts/ensure-kafka.sh
# The repo's own Node (node_modules/.bin/node) first, as npm scripts have it.
export PATH="$PWD/node_modules/.bin:$PATH"
exec npx vitest run "$@"
