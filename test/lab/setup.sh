#!/usr/bin/env bash
# Starts the SSH lab host for the remoting tests: a lab account whose PowerShell remoting sessions
# (sshd on a free loopback port, `Subsystem powershell <pwsh> -sshs -NoLogo`) load test/lab/WmiLab,
# an emulated WMI repository kept in a JSON file. Runs as root; idempotent for the same workdir.
# Usage: bash test/lab/setup.sh <workdir>   (logs on stderr; stdout is only `export NAME=value` lines)
set -euo pipefail
log() { printf '[lab] %s\n' "$*" >&2; }

[ "$#" -eq 1 ] || { log "usage: setup.sh <workdir>"; exit 2; }
[ "$(id -u)" = "0" ] || { log "must run as root"; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
mkdir -p "$1"
work="$(cd "$1" && pwd)"
chmod 700 "$work"

pwsh_bin="$(command -v pwsh || true)"
[ -n "$pwsh_bin" ] || { log "pwsh is not on PATH"; exit 2; }
pwsh_bin="$(cd "$(dirname "$pwsh_bin")" && pwd)/$(basename "$pwsh_bin")"
[ -x /usr/sbin/sshd ] || { log "/usr/sbin/sshd is missing"; exit 2; }

# One account per workdir, so parallel runs never share a repository.
user="wmilab$(printf '%s' "$work" | sha256sum | cut -c1-8)"
home="/var/lib/wmi-hunter-lab/$user"
mkdir -p /var/lib/wmi-hunter-lab
chmod 755 /var/lib/wmi-hunter-lab
if ! id "$user" >/dev/null 2>&1; then
  log "creating account $user"
  useradd --system --home-dir "$home" --create-home --shell /bin/bash "$user"
fi
# A locked account ('!' password) is refused by sshd even for key logins; '*' only disables passwords.
usermod -p '*' "$user"
printf '%s\n' "$user" >"$work/user"

[ -f "$work/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C wmi-lab-client -f "$work/client_ed25519"
[ -f "$work/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C wmi-lab-host -f "$work/ssh_host_ed25519_key"
install -d -m 700 -o "$user" -g "$user" "$home/.ssh"
install -m 600 -o "$user" -g "$user" "$work/client_ed25519.pub" "$home/.ssh/authorized_keys"

rm -rf "$home/Modules"
mkdir -p "$home/Modules"
cp -r "$here/WmiLab" "$home/Modules/WmiLab"
log "seeding the lab repository"
"$pwsh_bin" -NoProfile -NonInteractive -File "$here/New-LabRepository.ps1" -OutFile "$home/repository.json" -SamplesDir "$repo_root/samples" >&2
chown -R "$user:$user" "$home"
chmod 700 "$home"

sshd_running() { [ -f "$work/sshd.pid" ] && kill -0 "$(cat "$work/sshd.pid")" 2>/dev/null; }
if ! sshd_running; then
  port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  dotnet_root=""
  if command -v dotnet >/dev/null 2>&1; then dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"; fi
  cat >"$work/sshd_config" <<CONFIG
Port $port
ListenAddress 127.0.0.1
HostKey $work/ssh_host_ed25519_key
PidFile $work/sshd.pid
AuthorizedKeysFile $home/.ssh/authorized_keys
AllowUsers $user
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes yes
LogLevel VERBOSE
Subsystem powershell $pwsh_bin -sshs -NoLogo
Match User $user
    SetEnv PSModulePath=$home/Modules WMI_LAB_REPO=$home/repository.json COMPUTERNAME=127.0.0.1 ${dotnet_root:+DOTNET_ROOT=$dotnet_root}
CONFIG
  printf '%s\n' "$port" >"$work/port"
  mkdir -p /run/sshd
  /usr/sbin/sshd -t -f "$work/sshd_config"
  /usr/sbin/sshd -f "$work/sshd_config" -E "$work/sshd.log"
  for _ in $(seq 1 50); do sshd_running && break; sleep 0.1; done
  sshd_running || { log "sshd did not start; see $work/sshd.log"; exit 1; }
  log "sshd on 127.0.0.1:$port for $user"
fi
port="$(cat "$work/port")"
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$work/ssh_host_ed25519_key.pub")" >"$work/known_hosts"

printf 'export WMI_LAB_SSH_HOST=%q\n' 127.0.0.1
printf 'export WMI_LAB_SSH_PORT=%q\n' "$port"
printf 'export WMI_LAB_SSH_USER=%q\n' "$user"
printf 'export WMI_LAB_SSH_KEY=%q\n' "$work/client_ed25519"
printf 'export WMI_LAB_SSH_KNOWN_HOSTS=%q\n' "$work/known_hosts"
printf 'export WMI_LAB_REPO=%q\n' "$home/repository.json"
