#!/bin/sh
# Install k8ts on a fresh Debian/Ubuntu machine and start it under systemd.
#
#   sudo ./install.sh server                                   # first machine: control plane
#   sudo K8TS_URL=https://10.0.0.10:6443 K8TS_TOKEN='K10...' ./install.sh agent   # every other
#
# What it does, with apt and npm only:
#   1. Node.js >= 20.18: kept if present; else the distribution's `nodejs` when it is new enough
#      (Debian 13, Ubuntu 25.04+); else the NodeSource apt repository for Node 20 (Debian 12,
#      Ubuntu 22.04/24.04 ship Node 18), added as an apt source with its signing key.
#   2. iptables, iproute2, conntrack (the kubelet's bridge network and the service proxy).
#   3. k8ts itself: `npm install -g $K8TS_PACKAGE` (an npm spec: a registry version or a tarball
#      URL made with `npm pack`); run from a k8ts checkout without K8TS_PACKAGE, it builds and packs
#      that checkout. build-essential and python3 are installed only if better-sqlite3 has no
#      prebuilt binary for this machine and must compile.
#   4. /etc/systemd/system/k8ts-{server,agent}.service, the env file, `systemctl enable --now`.
set -eu

ROLE="${1:-}"
case "$ROLE" in
  server|agent) ;;
  *) echo "usage: $0 server|agent   (agent needs K8TS_URL and K8TS_TOKEN in the environment)" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then echo "install.sh: run as root (sudo)" >&2; exit 1; fi
if [ "$ROLE" = agent ] && { [ -z "${K8TS_URL:-}" ] || [ -z "${K8TS_TOKEN:-}" ]; }; then
  echo "install.sh: an agent needs K8TS_URL=https://SERVER:6443 and K8TS_TOKEN=<the server's /var/lib/k8ts/token>" >&2
  exit 2
fi
HERE="$(cd "$(dirname "$0")" && pwd)"
export DEBIAN_FRONTEND=noninteractive

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=18)?0:1)'
}

apt-get update -q
apt-get install -y -q ca-certificates curl gnupg iptables iproute2 conntrack

if ! node_ok; then
  CANDIDATE="$(apt-cache policy nodejs | sed -n 's/ *Candidate: *//p')"
  MAJOR="$(echo "$CANDIDATE" | sed 's/^[0-9]*://; s/\..*//')"
  MINOR="$(echo "$CANDIDATE" | sed 's/^[0-9]*://' | cut -d. -f2)"
  if [ -n "$MAJOR" ] && [ "$MAJOR" != "(none)" ] && { [ "$MAJOR" -gt 20 ] || { [ "$MAJOR" -eq 20 ] && [ "${MINOR:-0}" -ge 18 ]; }; }; then
    apt-get install -y -q nodejs npm
  else
    install -d -m 0755 /etc/apt/keyrings
    curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key \
      | gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg
    echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_20.x nodistro main" \
      > /etc/apt/sources.list.d/nodesource.list
    apt-get update -q
    apt-get install -y -q nodejs
  fi
fi
node_ok || { echo "install.sh: Node.js >= 20.18 could not be installed (found $(node --version 2>/dev/null))" >&2; exit 1; }

PKG="${K8TS_PACKAGE:-}"
if [ -z "$PKG" ]; then
  if [ -f "$HERE/../package.json" ] && grep -q '"name": "k8ts"' "$HERE/../package.json"; then
    (cd "$HERE/.." && npm ci --no-audit --no-fund && npm run build && npm pack --pack-destination /tmp >/dev/null)
    PKG="$(ls -t /tmp/k8ts-*.tgz | head -1)"
  else
    echo "install.sh: set K8TS_PACKAGE (npm spec or tarball URL), or run this script from a k8ts checkout" >&2
    exit 2
  fi
fi
if ! npm install -g --no-audit --no-fund "$PKG"; then
  apt-get install -y -q build-essential python3
  npm install -g --no-audit --no-fund "$PKG"
fi

install -m 0644 "$HERE/systemd/k8ts-$ROLE.service" "/etc/systemd/system/k8ts-$ROLE.service"
if [ "$ROLE" = server ]; then
  [ -f /etc/default/k8ts ] || printf 'K8TS_SERVER_ARGS=""\n' > /etc/default/k8ts
else
  umask 077
  printf 'K8TS_URL=%s\nK8TS_TOKEN=%s\nK8TS_AGENT_ARGS="%s"\n' "$K8TS_URL" "$K8TS_TOKEN" "${K8TS_AGENT_ARGS:-}" \
    > /etc/default/k8ts-agent
  chmod 0600 /etc/default/k8ts-agent
fi
systemctl daemon-reload
systemctl enable --now "k8ts-$ROLE.service"

if [ "$ROLE" = server ]; then
  for _ in $(seq 1 60); do [ -s /var/lib/k8ts/token ] && break; sleep 1; done
  echo "k8ts server is running. Join other machines with:"
  echo "  sudo K8TS_URL=https://$(hostname -I | cut -d' ' -f1):6443 K8TS_TOKEN='$(cat /var/lib/k8ts/token 2>/dev/null)' ./install.sh agent"
  echo "kubectl: export KUBECONFIG=/var/lib/k8ts/kubeconfig.yaml"
else
  echo "k8ts agent is running; on the server: kubectl get nodes"
fi
