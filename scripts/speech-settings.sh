# Sourced by scripts/make-dictations.sh and tests/fixtures/eval/make.sh: one voice and one
# encoder setup for all test speech, so WER from the two sets compares.
# Needs Debian's espeak-ng and ffmpeg (apt-get install -y espeak-ng ffmpeg) and python3.

# espeak-ng's own defaults, pinned so that a changed default cannot change the fixtures.
VOICE=en-us
SPEED=175     # words per minute
PITCH=50
AMPLITUDE=100
RATE=16000    # what Whisper consumes; the service resamples everything else to it
OPUS_BITRATE=24k

for tool in espeak-ng ffmpeg ffprobe python3; do
    command -v "$tool" >/dev/null || {
        echo "$(basename "$0"): $tool is missing (apt-get install -y espeak-ng ffmpeg)" >&2
        exit 1
    }
done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Drop ffmpeg's version strings and random ids from every output.
FF=(ffmpeg -nostdin -hide_banner -loglevel error -y)
BITEXACT=(-map_metadata -1 -fflags +bitexact -flags:a +bitexact)

# The scripts are the reference transcripts, so they are written the way a correct transcript
# reads. A few words espeak-ng says the way no clinician does; only the spoken copy changes.
spoken_text() {
    # "EMDR" is read as one word ("emder") unless spelled out; so are the risk shorthand's
    # letters, as a clinician says them ("S I slash H I denied", not "see slash hi").
    sed -e 's/\bEMDR\b/E M D R/g' -e 's/\b\([SH]\)I\b/\1 I/g' "$1"
}
