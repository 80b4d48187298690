# syntax=docker/dockerfile:1
#
# wmi-hunter: one image, two roles chosen by the command.
#   serve   the HTTP API (SIEM webhooks, REST) and the Slack app
#   worker  the queue workers that reach Windows hosts through PowerShell remoting over SSH
# WinRM and JEA endpoints need a worker on Windows (docs/architecture.md); this Linux image is for
# the API role and for SSH workers.
#
# No build step: bin/wmi-hunter.js runs the TypeScript sources through tsx, exactly as the tests do,
# so tsx is a runtime dependency and `npm ci --omit=dev` is all the image needs.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------------
# Production dependencies only. Install scripts stay off (package.json's allowScripts denies them
# too): esbuild and msgpackr use their prebuilt platform packages.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG DEBIAN_FRONTEND=noninteractive

# PowerShell from Microsoft's package repository for Debian, set up the way Microsoft documents it
# for Debian 12: the packages-microsoft-prod package installs the signing key and the apt source.
# Microsoft publishes the powershell package there for amd64 only: build this image for linux/amd64.
# openssh-client is what PowerShell's SSH remoting (-HostName) runs; tini reaps the pwsh and ssh
# children a long-running worker leaves behind and forwards SIGTERM for a clean drain.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates wget openssh-client tini \
 && . /etc/os-release \
 && wget -q "https://packages.microsoft.com/config/debian/${VERSION_ID}/packages-microsoft-prod.deb" \
 && dpkg -i packages-microsoft-prod.deb \
 && rm packages-microsoft-prod.deb \
 && apt-get update \
 && apt-get install -y --no-install-recommends powershell \
 && apt-get purge -y --auto-remove wget \
 && rm -rf /var/lib/apt/lists/* \
 && pwsh -NoProfile -NoLogo -Command '$PSVersionTable.PSVersion.ToString()'

# A dedicated unprivileged account. The application files stay owned by root (read-only to the
# service); only the evidence store and the account's home (pwsh caches, ~/.ssh) are writable.
RUN groupadd --system --gid 10001 wmihunter \
 && useradd --system --uid 10001 --gid wmihunter --home-dir /home/wmihunter --create-home \
      --shell /usr/sbin/nologin wmihunter \
 && install -d -o wmihunter -g wmihunter -m 0700 /home/wmihunter/.ssh /var/lib/wmi-hunter /var/lib/wmi-hunter/evidence

ENV NODE_ENV=production \
    HOME=/home/wmihunter \
    HTTP_PORT=8080 \
    EVIDENCE_DIR=/var/lib/wmi-hunter/evidence \
    PLAYBOOKS_DIR=/app/playbooks \
    POWERSHELL_TELEMETRY_OPTOUT=1 \
    POWERSHELL_UPDATECHECK=Off \
    DOTNET_CLI_TELEMETRY_OPTOUT=1

WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
# Data the service reads at run time from beside src/: the playbooks, the shipped allowlist and the
# OpenAPI document the API serves.
COPY playbooks ./playbooks
COPY allowlist ./allowlist
COPY docs/openapi.yaml ./docs/openapi.yaml

USER wmihunter:wmihunter
EXPOSE 8080

# The API role answers GET /healthz. The worker role serves no HTTP: docker-compose.yml gives it its
# own health check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || '8080') + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/wmi-hunter.js"]
CMD ["serve"]
