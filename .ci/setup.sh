#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine with Node 20 and the .NET SDK:
# Debian packages (redis-server, openssh-server), PowerShell 7 as a .NET tool, Pester from NuGet,
# and the npm dependencies. Idempotent: a second run only checks.
# Prints the environment the tests need as `export` lines on fd 3 when fd 3 is open.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${WMI_TOOLS_DIR:-/opt/wmi-hunter-tools}"
pwsh_version="7.6.9"
pester_version="5.7.1"

log() { printf '[setup] %s\n' "$*" >&2; }

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need_apt+=(openssh-client)
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # The package starts its own services; the tests start theirs on other ports.
  systemctl stop redis-server >/dev/null 2>&1 || service redis-server stop >/dev/null 2>&1 || true
fi

mkdir -p "$tools_dir"
if ! "$tools_dir/pwsh/pwsh" -NoProfile -NoLogo -Command '$PSVersionTable.PSVersion.ToString()' >/dev/null 2>&1; then
  log "dotnet tool install PowerShell $pwsh_version"
  rm -rf "$tools_dir/pwsh"
  dotnet tool install --tool-path "$tools_dir/pwsh" PowerShell --version "$pwsh_version" >/dev/null
fi

pester_dir="$tools_dir/Modules/Pester"
if [ ! -f "$pester_dir/Pester.psd1" ]; then
  log "Pester $pester_version from NuGet"
  work="$(mktemp -d)"
  cat >"$work/fetch.csproj" <<CSPROJ
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[$pester_version]" /></ItemGroup>
</Project>
CSPROJ
  dotnet restore "$work/fetch.csproj" --packages "$work/packages" >/dev/null
  src="$(dirname "$(find "$work/packages" -iname Pester.psd1 | head -n 1)")"
  rm -rf "$pester_dir" && mkdir -p "$(dirname "$pester_dir")" && cp -r "$src" "$pester_dir"
  rm -rf "$work"
fi

if [ ! -d "$here/node_modules" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  log "npm ci"
  (cd "$here" && npm ci --no-audit --no-fund >/dev/null)
fi

if { true >&3; } 2>/dev/null; then
  printf 'export PATH=%q:$PATH\n' "$tools_dir/pwsh" >&3
  printf 'export PSModulePath=%q\n' "$tools_dir/Modules" >&3
fi
log "ready: pwsh $("$tools_dir/pwsh/pwsh" -NoProfile -NoLogo -Command '$PSVersionTable.PSVersion.ToString()'), redis $(redis-server --version | awk '{print $3}')"
