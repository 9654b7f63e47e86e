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
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
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

# The browser tests drive Debian's Chromium (never a downloaded browser build).
if [ "${WITH_BROWSER:-0}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt_install chromium
  else
    echo "note: Debian's 'chromium' package is not installed; the in-browser tests will be skipped" >&2
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
