#!/usr/bin/env bash
# Creates .venv with a Python >= 3.11 and installs the project into it.
# Called by the Makefile; safe to run again (does nothing when up to date).
set -euo pipefail

venv=${VENV:-.venv}
extras=${EXTRAS:-dev}

find_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing system packages: $*"
    # Packages are installed for their tools (promtool); their daemons must not start.
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && added_policy=1
    fi
    local status=0
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; } ||
      status=$?
    if [ "$added_policy" = 1 ]; then rm -f "$policy"; fi
    if [ "$status" != 0 ]; then
      echo "error: could not install $* (apt-get exit $status)" >&2
      exit "$status"
    fi
  else
    echo "error: this machine needs the system packages: $*" >&2
    echo "       install them (e.g. 'sudo apt-get install $*') and run make again." >&2
    exit 1
  fi
}

python=$(find_python) || {
  apt_install python3 python3-venv
  python=$(find_python) || { echo "error: Python 3.11 or newer is required" >&2; exit 1; }
}

if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  ver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  apt_install "python${ver}-venv"
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "==> creating $venv with $python ($("$python" --version))"
  "$python" -m venv "$venv"
fi

# Test tools from Debian's packages: Chromium for the in-browser tests (never a downloaded
# browser build) and promtool (package prometheus) for the alert-rule tests.
if [ "${WITH_TEST_TOOLS:-0}" = 1 ]; then
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt_install "${missing[@]}"
    else
      echo "note: Debian packages ${missing[*]} are missing; the tests that need them are skipped" >&2
    fi
  fi
fi

stamp="$venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-$extras"
if [ ! -f "$stamp" ]; then
  echo "==> installing the appliance and its dependencies into $venv (first run takes a minute)"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -e ".[$extras]"
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi
