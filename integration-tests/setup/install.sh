#!/usr/bin/env bash
# Installs the DNS servers the integration tests drive: knot (authoritative, signs the zone),
# unbound (validating resolver), ldns (offline signing of the broken zone), and dig/kdig for
# humans debugging a run. Debian/Ubuntu, as root. Idempotent: does nothing when every tool exists.
# Waits up to APT_LOCK_WAIT_SECONDS (default 300) for another apt or dpkg to release its locks.
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

# Another apt or dpkg (unattended-upgrades, cloud-init, a second run of this script) may hold
# the locks for a while; wait for them, bounded, instead of failing at once.
LOCK_WAIT_SECONDS="${APT_LOCK_WAIT_SECONDS:-300}"
[[ "$LOCK_WAIT_SECONDS" =~ ^[0-9]+$ ]] || die "APT_LOCK_WAIT_SECONDS must be a number of seconds"
# Exit status of run_apt_get when apt-get failed for a lock another process still held, and
# apt's words for that: without a timeout it says "Could not get lock", once a timeout has run
# out only "Unable to acquire the dpkg frontend lock" (apt 2.6).
LOCKED=75
LOCK_FAILURE='^E: (Could not get lock|Unable to acquire the dpkg|Unable to lock)'
# What apt-get said when it last failed for a lock: shown only when this script gives up.
lock_errors=''

# apt-get with DPkg::Lock::Timeout (apt >= 1.9.11), which makes it wait for the dpkg lock by
# itself. Its errors are held back until it is done, so that a lock failure can be told apart.
run_apt_get() {
  local errors status=0
  errors="$(mktemp)"
  apt-get -o "DPkg::Lock::Timeout=$LOCK_WAIT_SECONDS" "$@" 2>"$errors" || status=$?
  if [ "$status" -ne 0 ] && grep -Eq "$LOCK_FAILURE" "$errors"; then
    status=$LOCKED
    lock_errors="$(cat "$errors")"
  else
    cat "$errors" >&2
  fi
  rm -f "$errors"
  return "$status"
}

gave_up_on_lock() {
  echo "$lock_errors" >&2
  die "$1: another process still held $2 after waiting ${LOCK_WAIT_SECONDS} s; run again once it is done"
}

# DPkg::Lock::Timeout does not cover the package-lists lock that `apt-get update` takes (apt 2.6
# fails at once while another update holds it), so update is retried until the same deadline.
update_deadline=$((SECONDS + LOCK_WAIT_SECONDS))
until run_apt_get update; do
  [ $? -eq "$LOCKED" ] || die "apt-get update failed (network or sources.list?)"
  [ "$SECONDS" -lt "$update_deadline" ] ||
    gave_up_on_lock 'apt-get update' 'the package-lists lock (/var/lib/apt/lists/lock)'
  [ -n "${told_waiting:-}" ] ||
    echo "Waiting up to ${LOCK_WAIT_SECONDS} s for another process to release the package-lists lock..."
  told_waiting=1
  sleep 2
done
run_apt_get install -y --no-install-recommends "${packages[@]}" || {
  [ $? -ne "$LOCKED" ] || gave_up_on_lock 'apt-get install' 'the dpkg lock (/var/lib/dpkg/lock-frontend)'
  die "apt-get install ${packages[*]} failed"
}

mapfile -t still_missing < <(missing_packages)
[ "${#still_missing[@]}" -eq 0 ] || die "still missing after install: ${still_missing[*]}"
echo "DNS tools installed: $(knotd -V 2>&1 | head -n1); $(unbound -V 2>&1 | head -n1)"
