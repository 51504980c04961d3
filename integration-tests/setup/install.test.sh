#!/usr/bin/env bash
# Tests install.sh's handling of apt and dpkg locks against a stub apt-get that answers as
# apt 2.6 does when another process holds a lock (messages copied from real runs). Needs no
# root and installs nothing: PATH holds only the stubs and the few tools the script uses.
# Run: bash integration-tests/setup/install.test.sh (exit code 0 when every case passes).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0

# A fresh stub directory: `id` says root, apt-get does what STUB_* say and logs its arguments;
# a successful install puts every DNS tool in place, as the real packages would.
make_stubs() {
  local bin="$1"
  mkdir -p "$bin"
  local tool
  for tool in sort mktemp cat grep rm head sleep dirname chmod; do ln -s "$(command -v "$tool")" "$bin/$tool"; done
  printf '#!/bin/sh\necho 0\n' >"$bin/id"
  # The shebang names this bash by path: the stubs' PATH has none.
  echo "#!$BASH" >"$bin/apt-get"
  cat >>"$bin/apt-get" <<'STUB'
echo "apt-get $*" >>"$STUB_LOG"
for arg in "$@"; do [ "$arg" = update ] && command=update; [ "$arg" = install ] && command=install; done
if [ "$command" = update ]; then
  calls=$(($(cat "$STUB_COUNT" 2>/dev/null || echo 0) + 1))
  echo "$calls" >"$STUB_COUNT"
  if [ "${STUB_UPDATE:-ok}" = fail ]; then
    echo 'E: The repository is not signed.' >&2
    exit 100
  fi
  if [ "$calls" -le "${STUB_UPDATE_LOCKED_CALLS:-0}" ]; then
    echo 'E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)' >&2
    echo 'E: Unable to lock directory /var/lib/apt/lists/' >&2
    exit 100
  fi
  exit 0
fi
if [ "${STUB_INSTALL:-ok}" = locked ]; then
  echo 'Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)...'
  echo 'E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?' >&2
  exit 100
fi
bin="$(dirname "$0")"
for tool in knotd knotc kdig unbound dig ldns-keygen ldns-signzone; do
  printf '#!/bin/sh\necho "%s 1.0"\n' "$tool" >"$bin/$tool"
  chmod +x "$bin/$tool"
done
STUB
  chmod +x "$bin/id" "$bin/apt-get"
}

# Runs install.sh with the stubs; sets status, out, err and calls (the apt-get log).
run_install() {
  local case_dir="$work/$1"
  shift
  make_stubs "$case_dir/bin"
  # Only the stubs on PATH: the script adds the sbin directories itself, and any tool found
  # there still leaves the /usr/bin ones (dig, kdig, ldns-*) missing, so apt-get runs.
  env -i PATH="$case_dir/bin" STUB_LOG="$case_dir/calls" STUB_COUNT="$case_dir/count" "$@" \
    "$BASH" "$here/install.sh" >"$case_dir/out" 2>"$case_dir/err"
  status=$?
  out="$(cat "$case_dir/out")"
  err="$(cat "$case_dir/err")"
  calls="$(cat "$case_dir/calls" 2>/dev/null)"
}

check() {
  local name="$1"
  shift
  if "$@"; then
    echo "ok - $name"
  else
    echo "not ok - $name"
    echo "  status: $status"
    sed 's/^/  out: /' <<<"$out"
    sed 's/^/  err: /' <<<"$err"
    sed 's/^/  apt-get: /' <<<"$calls"
    failures=$((failures + 1))
  fi
}

contains() { [[ "$1" == *"$2"* ]]; }

run_install update-fails STUB_UPDATE=fail
not_a_lock="$status|$(grep -c " update" <<<"$calls")|$err"
run_install update-waits STUB_UPDATE_LOCKED_CALLS=2
check 'passes DPkg::Lock::Timeout=300 to apt-get update and install' \
  eval 'contains "$calls" "apt-get -o DPkg::Lock::Timeout=300 update" &&
    contains "$calls" "apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends"'
check 'retries apt-get update only while another process holds the package-lists lock, then installs' \
  eval '[ "$status" -eq 0 ] && [ "$(grep -c " update" <<<"$calls")" -eq 3 ] &&
    contains "$out" "Waiting up to 300 s for another process to release the package-lists lock" &&
    [ "$(grep -c "Waiting up to" <<<"$out")" -eq 1 ] && contains "$out" "DNS tools installed" &&
    contains "$not_a_lock" "1|1|" && contains "$not_a_lock" "apt-get update failed (network or sources.list?)"'

run_install update-gives-up STUB_UPDATE_LOCKED_CALLS=1000 APT_LOCK_WAIT_SECONDS=1
check 'gives up on the package-lists lock after APT_LOCK_WAIT_SECONDS, saying what it waited for' \
  eval '[ "$status" -eq 1 ] &&
    contains "$err" "apt-get update: another process still held the package-lists lock (/var/lib/apt/lists/lock) after waiting 1 s" &&
    contains "$err" "It is held by process 4242" && ! contains "$calls" " install "'

run_install install-gives-up STUB_INSTALL=locked
check 'names the dpkg lock and the wait when apt-get install gave up on it' \
  eval '[ "$status" -eq 1 ] &&
    contains "$err" "apt-get install: another process still held the dpkg lock (/var/lib/dpkg/lock-frontend) after waiting 300 s"'

run_install bad-wait APT_LOCK_WAIT_SECONDS=soon
check 'refuses an APT_LOCK_WAIT_SECONDS that is not a number of seconds' \
  eval '[ "$status" -eq 1 ] && contains "$err" "APT_LOCK_WAIT_SECONDS must be a number of seconds" && [ -z "$calls" ]'

[ "$failures" -eq 0 ] || {
  echo "$failures failed"
  exit 1
}
