#!/usr/bin/env bash
# `npm test`: type-checks, starts the services the integration tests use (a throw-away Redis on a free
# loopback port; the SSH lab host when running as root with sshd and pwsh present), runs the whole
# vitest suite, and tears everything down. Locally a missing service skips its tests with a warning;
# with CI=true it fails them (see test/support/services.ts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work="$(mktemp -d -t wmi-hunter-test.XXXXXX)"
cleanup() {
  if [ -f "$work/redis.pid" ]; then kill "$(cat "$work/redis.pid")" 2>/dev/null || true; fi
  if [ -n "${WMI_LAB_STARTED:-}" ]; then bash test/lab/teardown.sh "$work/lab" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

echo "[test] typecheck" >&2
npx tsc --noEmit -p tsconfig.json

if [ -z "${WMI_TEST_REDIS_URL:-}" ] && command -v redis-server >/dev/null 2>&1; then
  port="$(free_port)"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --daemonize yes --pidfile "$work/redis.pid" \
    --appendonly yes --maxmemory-policy noeviction --save '' --logfile "$work/redis.log" >/dev/null
  for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export WMI_TEST_REDIS_URL="redis://127.0.0.1:$port"
  export WMI_TEST_REDIS_SERVER="$(command -v redis-server)"
  echo "[test] redis on $WMI_TEST_REDIS_URL" >&2
fi

if [ -f test/lab/setup.sh ] && [ "$(id -u)" = "0" ] && [ -x /usr/sbin/sshd ] && command -v pwsh >/dev/null 2>&1; then
  eval "$(bash test/lab/setup.sh "$work/lab")"
  export WMI_LAB_STARTED=1
  echo "[test] lab host on ${WMI_LAB_SSH_HOST:-?}:${WMI_LAB_SSH_PORT:-?}" >&2
fi

npx vitest run "$@"
