#!/usr/bin/env bash
# Runs Layover's whole test suite: unit tests and end-to-end tests against distribution's
# registry with skopeo and buildah as clients (and Apache's htpasswd for client authentication).
# Installs what the tests need when it can (root on Debian); otherwise says exactly what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v swift >/dev/null || { echo "missing: a Swift 6 toolchain (swift) on PATH" >&2; exit 1; }
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
command -v skopeo >/dev/null || missing+=(skopeo)
[ -e /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
[ -x /usr/bin/buildah ] || missing+=(buildah)
[ -x /usr/bin/python3 ] || missing+=(python3)   # parses deploy/'s TOML files (tomllib)
[ -x /usr/bin/htpasswd ] || missing+=(apache2-utils)   # writes bcrypt htpasswd files for the client-auth tests
[ -x /usr/bin/curl ] || missing+=(curl)                 # HTTP/2 over TLS and with prior knowledge
[ -x /usr/bin/openssl ] || missing+=(openssl)           # the TLS tests' certificate authority
[ -x /usr/bin/h2load ] || missing+=(nghttp2-client)     # many HTTP/2 streams on one connection
[ -x /usr/sbin/haproxy ] || missing+=(haproxy)            # the balancer in front of the fleet tests
# python3 -m venv needs ensurepip, which Debian ships in python3-venv (for kubernetes-validate below).
/usr/bin/python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)

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

# kubernetes-validate (PyPI) checks deploy/'s Kubernetes manifests against the Kubernetes API
# schemas it bundles, offline. It lives in a venv of Debian's python3 inside the checkout
# (.build-venv/, ignored by git), where Tests/LayoverDeployTests looks for it.
venv=.build-venv
if ! "$venv/bin/kubernetes-validate" --version >/dev/null 2>&1; then
  echo "installing: kubernetes-validate (PyPI) into $venv"
  /usr/bin/python3 -m venv --clear "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check kubernetes-validate==1.37.0
fi

# The end-to-end tests start the real `layover` executable built beside the test bundle.
swift build --build-tests
swift test "$@"
