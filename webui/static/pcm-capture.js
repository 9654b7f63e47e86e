// AudioWorklet processor for streaming capture: the microphone as 16 kHz mono 16-bit PCM, the
// one format the appliance takes chunk by chunk (s16le-16k-mono). Raw PCM rather than
// MediaRecorder timeslices because each chunk then stands alone: a WebM/Opus timeslice is only
// decodable after the first one (it carries the header), so a lost or resent slice breaks the
// rest, while PCM chunks can be stored, counted and joined by byte length.
//
// Blocks of about a quarter of a second go to the page (a message per 128-frame render quantum
// would be 125 a second); the page cuts them into chunks. Messages from the page:
// {paused: bool} drops or keeps the audio; {flush: true} sends what is held, then {done: true},
// and takes no more.
"use strict";

var TARGET_RATE = 16000;
var BLOCK_SAMPLES = 4000;

class PcmCaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    // `sampleRate` is the context's; the page asks for a 16 kHz context so that the browser's
    // own resampler does the work, and this fallback only runs where that was refused.
    this.step = sampleRate / TARGET_RATE;
    this.block = new Int16Array(BLOCK_SAMPLES);
    this.filled = 0;
    this.sum = 0;
    this.count = 0;
    this.position = 0;
    this.paused = false;
    var self = this;
    this.port.onmessage = function (event) {
      if ("paused" in event.data) { self.paused = event.data.paused; }
      // Stop: what is held goes, and nothing after it.
      if (event.data.flush) { self.send(); self.paused = true; self.port.postMessage({ done: true }); }
    };
  }

  send() {
    if (this.filled === 0) { return; }
    var out = this.block.slice(0, this.filled);
    this.port.postMessage({ samples: out }, [out.buffer]);
    this.filled = 0;
  }

  emit(value) {
    var clipped = Math.max(-1, Math.min(1, value));
    this.block[this.filled++] = clipped < 0 ? clipped * 0x8000 : clipped * 0x7fff;
    if (this.filled === BLOCK_SAMPLES) { this.send(); }
  }

  process(inputs) {
    var channels = inputs[0];
    if (this.paused || !channels || channels.length === 0) { return true; }
    var frames = channels[0].length;
    for (var i = 0; i < frames; i++) {
      var mono = 0;
      for (var c = 0; c < channels.length; c++) { mono += channels[c][i]; }
      mono /= channels.length;
      if (this.step === 1) { this.emit(mono); continue; }
      // Downsampling by averaging the input samples that fall in each output sample: a box
      // filter, crude against aliasing but enough for speech recognition, and only reached
      // where the browser would not give a 16 kHz context.
      this.sum += mono;
      this.count += 1;
      this.position += 1;
      if (this.position >= this.step) {
        this.emit(this.sum / this.count);
        this.position -= this.step;
        this.sum = 0;
        this.count = 0;
      }
    }
    return true;
  }
}

registerProcessor("pcm-capture", PcmCaptureProcessor);
