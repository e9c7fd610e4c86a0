#!/usr/bin/env bash
# Installs what the cluster needs on a fresh Debian machine (run as root):
#   bash scripts/install.sh          etcd server, Kamailio (the SIP trunk's proxy) + the Python package
#   bash scripts/install.sh --dev    also what the tests need: PostgreSQL, Chromium, espeak-ng, sox, SIPp, Prometheus, test tools
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

packages=(etcd-server etcd-client kamailio)  # etcd-client: etcdctl (tests/cluster/test_etcd_auth.py enables auth with it)
if [ "$dev" = 1 ]; then
  packages+=(postgresql chromium chromium-driver espeak-ng sox iproute2 sip-tester)
  packages+=(prometheus)  # promtool and a real server: tests/ops/test_prometheus.py
fi

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== apt-get install ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts no etcd by itself in containers; make sure a packaged one is not holding 2379.
command -v etcd >/dev/null || { echo "etcd binary missing after install" >&2; exit 1; }

echo "== pip install"
# the etcd client by hash first (pip has no hash mode for the editable install below)
python3 -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r deploy/pins/etcd-client.txt
if [ "$dev" = 1 ]; then
  python3 -m pip install -q --disable-pip-version-check -e ".[dev]"
else
  python3 -m pip install -q --disable-pip-version-check -e ".[postgres,load]"
fi
echo "== installed: $(etcd --version | head -1), $(python3 --version)"
