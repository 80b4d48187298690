#!/usr/bin/env bash
# Stops the lab sshd and removes what test/lab/setup.sh made for this workdir (account, home,
# keys, config). Usage: bash test/lab/teardown.sh <workdir>
set -euo pipefail
log() { printf '[lab] %s\n' "$*" >&2; }
[ "$#" -eq 1 ] || { log "usage: teardown.sh <workdir>"; exit 2; }
[ -d "$1" ] || exit 0
work="$(cd "$1" && pwd)"
if [ -f "$work/sshd.pid" ]; then
  pid="$(cat "$work/sshd.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
fi
if [ -f "$work/user" ]; then
  user="$(cat "$work/user")"
  # Sessions of the lab account (remote pwsh) end with it.
  pkill -KILL -u "$user" 2>/dev/null || true
  if id "$user" >/dev/null 2>&1; then userdel "$user" 2>/dev/null || true; fi
  rm -rf "/var/lib/wmi-hunter-lab/$user"
fi
rm -f "$work"/{user,port,sshd.pid,sshd_config,sshd.log,known_hosts,client_ed25519,client_ed25519.pub,ssh_host_ed25519_key,ssh_host_ed25519_key.pub}
rmdir "$work" 2>/dev/null || true
log "lab host removed"
