#!/bin/sh
# Idempotent set-up for a fresh Debian 12 machine: system packages, npm packages (Node 24
# included), the build (bundles + berth-shim), and `berth`/`berthd` on PATH.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# System packages: the OCI runtimes and what builds berth-shim (gcc, libc, libseccomp, zlib), a static busybox for the default image, tini (--init),
# tools for layers (setfattr) and for the tests (tmux, iproute2; systemd for its unit checker and socket activator, procps for `top`, xz-utils, bzip2 and zstd for ADD's archives, openssh for -H ssh://, whose test runs a private sshd), and what the interop tests and the bench compare with: skopeo, Debian's
# registry, umoci, oci-image-tool, python3-docker (docker-py), docker.io (a dockerd the
# tests start privately; nothing starts it here) and moby's source as Debian packages it
# (golang-github-docker-docker-dev: the seccomp profile docker publishes, for a test).
need=""
for pkg in crun runc busybox-static attr iproute2 gcc make libc6-dev libseccomp-dev zlib1g-dev tini tmux skopeo docker-registry umoci oci-image-tool docker.io python3-docker golang-github-docker-docker-dev openssl curl iptables docker-compose systemd procps xz-utils bzip2 zstd openssh-client openssh-server git; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need="$need $pkg"
done
if [ -n "$need" ]; then
  echo "setup: installing system packages:$need"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # No package starts a service (openssh-server's sshd, docker.io's dockerd): the tests start
  # their own. An existing policy-rc.d is left as it is.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy=1
  fi
  apt-get install -y -qq --no-install-recommends $need >/dev/null
  if [ -n "$policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

# The group whose members may use berthd's socket (as docker's `docker` group).
getent group berth >/dev/null 2>&1 || groupadd --system berth

# npm packages, including the pinned Node 24 (node_modules/node/bin/node).
if [ ! -x node_modules/node/bin/node ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

node_modules/node/bin/node scripts/build.mjs

# Launchers: the bundles carry a shebang pointing at Node 24.
for b in berth berthd; do
  if [ "$(readlink /usr/local/bin/$b 2>/dev/null)" != "$ROOT/dist/$b.js" ]; then
    ln -sf "$ROOT/dist/$b.js" /usr/local/bin/$b
  fi
done

# On a host run by systemd: berthd.service and berthd.socket, installed but not enabled
# (`systemctl enable --now berthd`, as with docker).
if [ -d /run/systemd/system ]; then
  changed=""
  for u in berthd.service berthd.socket; do
    cmp -s "contrib/systemd/$u" "/etc/systemd/system/$u" || { install -m 0644 "contrib/systemd/$u" "/etc/systemd/system/$u"; changed=1; }
  done
  [ -z "$changed" ] || systemctl daemon-reload || true
fi
