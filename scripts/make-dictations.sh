#!/usr/bin/env bash
# Regenerate the committed test speech from its scripts.
#
#   scripts/make-dictations.sh            # rewrite the audio, the durations and the format table
#
# Inputs (hand-written, committed):
#   tests/fixtures/dictations/<id>.txt    six ~45 s post-session dictations, one per modality
#   tests/fixtures/dictations/manifest.json   ids, modalities and key_terms (this script fills in
#                                         duration_seconds, words and the tool versions)
#   tests/fixtures/audio/hello.txt        one ~5 s sentence for the container/codec tests
# Outputs (committed):
#   tests/fixtures/dictations/<id>.opus   Ogg/Opus, mono, 16 kHz, 24 kbit/s
#   tests/fixtures/audio/hello.{wav,flac,mp3,m4a,ogg,webm} and hello-streamed.webm
#   tests/fixtures/audio/{corrupt.ogg,empty.wav,not-audio.png}   for the error paths
#   tests/fixtures/audio/formats.json     what ffprobe says each file is, and what a decoder should
#                                         make of it
#
# Needs Debian's espeak-ng (speech), ffmpeg (resampling, every encoder and ffprobe) and python3
# (JSON and the garbage bytes). As root:
#   apt-get update && apt-get install -y espeak-ng ffmpeg
# ffmpeg 5.1 from Debian 12 carries every encoder used here: libopus, libmp3lame, FFmpeg's own
# aac and flac. sox is not needed.
#
# Deterministic: a fixed voice, speed, pitch and amplitude, ffmpeg's bitexact flags (no encoder
# version strings, no random Ogg serial numbers or Matroska UIDs) and a seeded generator for the
# garbage bytes. Two runs with the same package versions give byte-identical files; other
# versions of espeak-ng or libopus may change the bytes, never the words.
set -euo pipefail

cd "$(dirname "$0")/.."
DICT=tests/fixtures/dictations
AUDIO=tests/fixtures/audio

# shellcheck source=scripts/speech-settings.sh
source scripts/speech-settings.sh

# <script.txt> <out.wav>: 16 kHz mono signed 16-bit PCM.
synthesise() {
    spoken_text "$1" >"$WORK/spoken.txt"
    espeak-ng -v "$VOICE" -s "$SPEED" -p "$PITCH" -a "$AMPLITUDE" \
        -w "$WORK/espeak.wav" -f "$WORK/spoken.txt"
    # espeak-ng writes 22.05 kHz; FFmpeg's resampler is deterministic.
    "${FF[@]}" -i "$WORK/espeak.wav" -ac 1 -ar "$RATE" -c:a pcm_s16le "${BITEXACT[@]}" "$2"
}

# <in.wav> <out> [extra ffmpeg output options...]
encode() {
    local input=$1 output=$2
    shift 2
    "${FF[@]}" -i "$input" -ac 1 -ar "$RATE" "$@" "${BITEXACT[@]}" "$output"
}

opus_options=(-c:a libopus -b:a "$OPUS_BITRATE" -application voip)

echo "dictations:"
for script in "$DICT"/*.txt; do
    id=$(basename "$script" .txt)
    synthesise "$script" "$WORK/$id.wav"
    encode "$WORK/$id.wav" "$DICT/$id.opus" "${opus_options[@]}" -f ogg
    printf '  %-18s %6s bytes\n' "$id.opus" "$(stat -c %s "$DICT/$id.opus")"
done

synthesise "$AUDIO/hello.txt" "$AUDIO/hello.wav"
encode "$AUDIO/hello.wav" "$AUDIO/hello.flac" -c:a flac -compression_level 8
encode "$AUDIO/hello.wav" "$AUDIO/hello.mp3" -c:a libmp3lame -b:a 32k
encode "$AUDIO/hello.wav" "$AUDIO/hello.m4a" -c:a aac -b:a 32k -f ipod
encode "$AUDIO/hello.wav" "$AUDIO/hello.ogg" "${opus_options[@]}" -f ogg
encode "$AUDIO/hello.wav" "$AUDIO/hello.webm" "${opus_options[@]}" -f webm
# What a browser's MediaRecorder uploads: written as a stream, so the WebM header carries no
# duration and there is no seek index (a decoder must count samples instead of trusting it).
encode "$AUDIO/hello.wav" - "${opus_options[@]}" -f webm >"$AUDIO/hello-streamed.webm"

# Error cases. A header and no samples:
encode "$AUDIO/hello.wav" "$AUDIO/empty.wav" -c:a pcm_s16le -t 0
# A real file of a type we do not take (FFmpeg opens it, as a video stream with no audio):
"${FF[@]}" -f lavfi -i color=c=gray:s=8x8 -frames:v 1 -fflags +bitexact -flags +bitexact \
    "$AUDIO/not-audio.png"
# Damaged Ogg: the capture pattern, then seeded noise, so that it looks like Ogg by its name
# and first bytes and decodes to nothing.
python3 - "$AUDIO/corrupt.ogg" <<'PY'
import random
import sys

with open(sys.argv[1], "wb") as out:
    out.write(b"OggS" + random.Random(20261127).randbytes(4092))
PY

# Durations as a decoder sees them (Ogg/Opus: after pre-skip), the tool versions and a table of
# what each file is.
python3 - "$DICT" "$AUDIO" "$VOICE" "$SPEED" <<'PY'
import json
import subprocess
import sys
from pathlib import Path

dict_dir, audio_dir, voice, speed = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]


def probe(path: Path) -> dict[str, str] | None:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries",
         "format=format_name,duration:stream=codec_type,codec_name,sample_rate,channels",
         "-of", "json", str(path)],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        return None
    info = json.loads(result.stdout)
    stream = next((s for s in info.get("streams", []) if s.get("codec_type") == "audio"), None)
    return {
        "container": info["format"]["format_name"],
        "codec": stream["codec_name"] if stream else None,
        "sample_rate": int(stream["sample_rate"]) if stream else None,
        "channels": stream["channels"] if stream else None,
        "duration_seconds": round(float(info["format"]["duration"]), 2)
        if "duration" in info["format"] else None,
    }


def package_version(name: str) -> str | None:
    result = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", name],
                            capture_output=True, text=True, check=False)
    return result.stdout or None


manifest_path = dict_dir / "manifest.json"
manifest = json.loads(manifest_path.read_text())
manifest["generator"] = {
    "script": "scripts/make-dictations.sh",
    # Debian package versions: these decide the bytes (libopus and LAME encode inside ffmpeg).
    "packages": {name: package_version(name)
                 for name in ("espeak-ng", "espeak-ng-data", "ffmpeg", "libopus0", "libmp3lame0")},
    "voice": voice,
    "words_per_minute": int(speed),
}
print("durations:")
for entry in manifest["dictations"]:
    info = probe(dict_dir / entry["audio"])
    assert info and info["codec"] == "opus", entry["audio"]
    entry["duration_seconds"] = info["duration_seconds"]
    entry["words"] = len((dict_dir / entry["script"]).read_text().split())
    print(f"  {entry['id']:<18} {info['duration_seconds']:6.2f} s  {entry['words']} words")
manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")

expect = {
    "hello.wav": "decodes", "hello.flac": "decodes", "hello.mp3": "decodes",
    "hello.m4a": "decodes", "hello.ogg": "decodes", "hello.webm": "decodes",
    "hello-streamed.webm": "decodes",
    "empty.wav": "empty", "corrupt.ogg": "corrupt", "not-audio.png": "unsupported",
}
formats = {
    "about": "What ffprobe reports for each file here, and what a decoder should make of it. "
             "hello.* all speak hello.txt. Written by scripts/make-dictations.sh.",
    "files": {},
}
for name, outcome in expect.items():
    formats["files"][name] = {"expect": outcome, "bytes": (audio_dir / name).stat().st_size,
                              "ffprobe": probe(audio_dir / name)}
(audio_dir / "formats.json").write_text(json.dumps(formats, indent=2) + "\n")
print("formats (hello.txt spoken) and error cases:")
for name, row in formats["files"].items():
    print(f"  {name:<20} {row['bytes']:7d} bytes  {row['expect']:<11} {row['ffprobe']}")
PY
