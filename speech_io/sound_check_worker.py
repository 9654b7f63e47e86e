"""`python -I -m speech_io.sound_check_worker REQUEST`: one upload's sound check, in a process of
its own (speech_io.sound_check starts it; nobody runs it by hand).

REQUEST is JSON: {"size", "max_seconds", "claimed_audio", "listen_seconds"}. The recording,
`size` bytes, arrives on stdin. The answer is one JSON object on stdout: {"sound": bool} or
{"problem": <SpeechErrorCode>, "message": str}, with "sandboxed": whether Landlock took away
files and sockets before the first byte of the recording was read.
"""

from __future__ import annotations

import importlib
import json
import sys

from speech_io.audio import AudioError, has_sound
from speech_io.landlock import forbid_files_and_network

# PyAV imports these only when a container first shows it a stream or codec of their kind (a
# phone's video, a subtitle track); once the sandbox is on nothing more can be imported.
PYAV_LAZY_IMPORTS = (
    "av.audio.codeccontext",
    "av.audio.stream",
    "av.subtitles.codeccontext",
    "av.subtitles.stream",
    "av.video.codeccontext",
    "av.video.stream",
)


def main(argv: list[str]) -> int:
    request = json.loads(argv[1])
    for module in PYAV_LAZY_IMPORTS:
        importlib.import_module(module)
    # Everything the check runs is now loaded (FFmpeg's demuxers and decoders live in the
    # libraries `av` has already mapped): from here on nothing needs a file or a socket.
    try:
        sandboxed = forbid_files_and_network()
    except OSError:
        sandboxed = False  # said in the answer; the parent logs it
    size = int(request["size"])
    # read(size) fills one buffer of that size: the recording is held once, not twice.
    data = sys.stdin.buffer.read(size)
    if len(data) != size:
        return 2
    answer: dict[str, object]
    try:
        sound = has_sound(
            data,
            max_seconds=float(request["max_seconds"]),
            claimed_audio=bool(request["claimed_audio"]),
            listen_seconds=request["listen_seconds"],
        )
        answer = {"sound": sound}
    except AudioError as error:
        answer = {"problem": error.problem.value, "message": str(error)}
    sys.stdout.write(json.dumps({**answer, "sandboxed": sandboxed}))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
