#!/usr/bin/env bash
# Provides the independent gRPC clients the reflection tests use, inside the
# git-ignored .cache/grpcurl/ so that a fresh clone needs nothing else:
#   .cache/grpcurl/bin/grpcurl       grpcurl, built from its Go module (pinned) with
#                                    GOPATH, GOMODCACHE and GOCACHE under .cache/grpcurl/go
#                                    (removed after the build)
#   .cache/grpcurl/venv/bin/python   a venv with grpcio and grpcio-reflection (pinned)
# Each is reused while its stamp file names the pinned versions; change a version
# below and the next run rebuilds it. Needs Go >= 1.21 (or /usr/local/go) and
# python3 with venv; downloads from the Go module proxy and PyPI on first run.
set -euo pipefail
cd "$(dirname "$0")/.."

GRPCURL_VERSION=v1.9.4
GRPCIO_VERSION=1.85.1 # grpcio and grpcio-reflection release together

dir="$PWD/.cache/grpcurl"
mkdir -p "$dir/bin"

if [ "$(cat "$dir/bin/grpcurl.version" 2>/dev/null)" = "$GRPCURL_VERSION" ] && [ -x "$dir/bin/grpcurl" ]; then
  echo "ensure-grpcurl: grpcurl $GRPCURL_VERSION present"
else
  go=$(command -v go || true)
  if [ -z "$go" ] && [ -x /usr/local/go/bin/go ]; then go=/usr/local/go/bin/go; fi
  if [ -z "$go" ]; then
    echo "ensure-grpcurl: Go is needed to build grpcurl (https://go.dev/dl/); none on PATH or in /usr/local/go" >&2
    exit 1
  fi
  echo "ensure-grpcurl: building grpcurl $GRPCURL_VERSION with $("$go" version)"
  rm -f "$dir/bin/grpcurl.version"
  # -modcacherw: the module cache stays deletable (rm -rf .cache) like any other dir.
  env GOBIN="$dir/bin" GOPATH="$dir/go" GOMODCACHE="$dir/go/pkg/mod" GOCACHE="$dir/go/cache" \
    GOFLAGS=-modcacherw CGO_ENABLED=0 \
    "$go" install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION"
  echo "$GRPCURL_VERSION" >"$dir/bin/grpcurl.version"
  # The binary is all that is kept: the module and build caches are ~600 MB.
  rm -rf "$dir/go"
fi

py_stamp="grpcio==$GRPCIO_VERSION grpcio-reflection==$GRPCIO_VERSION"
if [ "$(cat "$dir/venv/stamp" 2>/dev/null)" = "$py_stamp" ] && [ -x "$dir/venv/bin/python" ]; then
  echo "ensure-grpcurl: python $py_stamp present"
else
  echo "ensure-grpcurl: installing $py_stamp into .cache/grpcurl/venv"
  rm -rf "$dir/venv"
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --only-binary=:all: "grpcio==$GRPCIO_VERSION" "grpcio-reflection==$GRPCIO_VERSION"
  echo "$py_stamp" >"$dir/venv/stamp"
fi
