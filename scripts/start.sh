#!/bin/sh
# `npm start`: set up if needed, start berthd unless it runs, make sure the default image
# exists, and run a first container.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh

SOCK=/run/berth/berth.sock
export BERTH_HOST="unix://$SOCK"
if ! berth version >/dev/null 2>&1; then
  mkdir -p /var/log/berth
  echo "Starting berthd (log: /var/log/berth/berthd.log)"
  setsid berthd >>/var/log/berth/berthd.log 2>&1 </dev/null &
  i=0
  until berth version >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then
      echo "berthd did not come up; last lines of /var/log/berth/berthd.log:" >&2
      tail -n 20 /var/log/berth/berthd.log >&2
      exit 1
    fi
    sleep 0.1
  done
fi

if ! berth image inspect busybox:latest >/dev/null 2>&1; then
  echo "Building the default image busybox:latest from Debian's busybox-static"
  sh scripts/mkbusybox.sh | berth import -c 'CMD ["sh"]' -m "busybox from Debian busybox-static" - busybox:latest >/dev/null
fi

berth run --rm busybox echo "Hello from Berth"

cat <<'MSG'

Berth is running. Try next:
  berth run -d --name web busybox sh -c 'while :; do echo tick; sleep 1; done'
  berth ps
  berth logs -f web
  berth stop web && berth rm web
  berth images
  DOCKER_HOST=unix:///run/berth/berth.sock docker ps     # the real docker CLI works too
MSG
