#!/usr/bin/env bash
# Runs Layover's whole test suite: unit tests and end-to-end tests against distribution's
# registry with skopeo and buildah as clients. Installs what the tests need when it can (root on Debian);
# otherwise says exactly what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v swift >/dev/null || { echo "missing: a Swift 6 toolchain (swift) on PATH" >&2; exit 1; }
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
command -v skopeo >/dev/null || missing+=(skopeo)
[ -e /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
[ -x /usr/bin/buildah ] || missing+=(buildah)
[ -x /usr/bin/python3 ] || missing+=(python3)   # parses deploy/'s TOML files (tomllib)

if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# The end-to-end tests start the real `layover` executable built beside the test bundle.
swift build --build-tests
swift test "$@"
