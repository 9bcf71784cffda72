#!/usr/bin/env bash
# Installs what a fresh machine lacks for Elephant's local stack and test suite:
# Debian packages (redis-server, Maven, a JDK) when missing, then the npm dependencies
# (which include Node 24 itself, as the `node` dev dependency) when package-lock.json
# changed since the last install. Kafka and Apicurio Registry come from Maven Central
# on the first `stack up`.
set -euo pipefail
cd "$(dirname "$0")/.."

# A JDK of version 17 or later where the local stack looks for one (JAVA_HOME, /usr/lib/jvm,
# PATH): an older `java` alone (Java 8 or 11) does not run Kafka 4.
has_jdk17() {
  local candidate major
  for candidate in "${JAVA_HOME:-/nonexistent}/bin/java" /usr/lib/jvm/*/bin/java "$(command -v java 2>/dev/null || echo /nonexistent)"; do
    [ -x "$candidate" ] || continue
    major=$("$candidate" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p' | head -1)
    if [ -n "$major" ] && [ "$major" -ge 17 ]; then return 0; fi
  done
  return 1
}

missing=()
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
has_jdk17 || missing+=(openjdk-17-jdk-headless)
if [ ${#missing[@]} -gt 0 ]; then
  # As root, or through sudo (which may ask for a password) when not.
  as_root=()
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then as_root=(sudo); fi
  if ! command -v apt-get >/dev/null 2>&1 || { [ "$(id -u)" -ne 0 ] && [ ${#as_root[@]} -eq 0 ]; }; then
    echo "Missing: ${missing[*]} (a JDK 17 or later, Maven, redis-server). Install them (Debian: apt-get install ${missing[*]}) and run again." >&2
    exit 1
  fi
  echo "Installing ${missing[*]} with ${as_root[*]:+${as_root[*]} }apt-get" >&2
  ${as_root[@]+"${as_root[@]}"} apt-get update -qq
  ${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "npm is missing: install Node.js (any version with npm 10+) to bootstrap; the project pins its own Node 24." >&2
  exit 1
fi
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
node_modules/.bin/node --version >/dev/null
