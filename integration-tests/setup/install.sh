#!/usr/bin/env bash
# Installs the DNS servers the integration tests drive: knot (authoritative, signs the zone),
# unbound (validating resolver), ldns (offline signing of the broken zone), and dig/kdig for
# humans debugging a run. Debian/Ubuntu, as root. Idempotent: does nothing when every tool exists.
set -euo pipefail

# tool -> Debian package that ships it
declare -A PACKAGE_OF=(
  [knotd]=knot
  [knotc]=knot
  [kdig]=knot-dnsutils
  [unbound]=unbound
  [dig]=dnsutils
  [ldns-keygen]=ldnsutils
  [ldns-signzone]=ldnsutils
)

die() {
  echo "integration-tests/setup/install.sh: $*" >&2
  exit 1
}

# Daemons live in sbin, which a non-root PATH often lacks.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

missing_packages() {
  local tool
  for tool in "${!PACKAGE_OF[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || echo "${PACKAGE_OF[$tool]}"
  done | sort -u
}

mapfile -t packages < <(missing_packages)
if [ "${#packages[@]}" -eq 0 ]; then
  echo "DNS tools already installed (knot, unbound, ldns, dig): nothing to do."
  exit 0
fi

echo "Installing DNS tools for the integration tests: ${packages[*]}"
[ "$(id -u)" -eq 0 ] || die "must run as root to install ${packages[*]} (try: sudo $0)"
command -v apt-get >/dev/null 2>&1 ||
  die "apt-get not found; install ${packages[*]} (knot, unbound, ldns, dig) with this system's package manager"

export DEBIAN_FRONTEND=noninteractive
apt-get update || die "apt-get update failed (network or sources.list?)"
apt-get install -y --no-install-recommends "${packages[@]}" || die "apt-get install ${packages[*]} failed"

mapfile -t still_missing < <(missing_packages)
[ "${#still_missing[@]}" -eq 0 ] || die "still missing after install: ${still_missing[*]}"
echo "DNS tools installed: $(knotd -V 2>&1 | head -n1); $(unbound -V 2>&1 | head -n1)"
