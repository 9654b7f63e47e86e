// In-browser recording: timer, input level, pause/resume, and a warning before leaving the page
// with audio that was not sent. Two ways to send it:
// - Streamed (the usual one): Record starts a recording on the appliance, pcm-capture.js turns
//   the microphone into 16 kHz mono PCM, and numbered chunks of CHUNK_SECONDS go out as it is
//   spoken. Stop sends the rest, then queues it; the dictation's progress page follows.
// - Whole (MediaRecorder): where the browser has no AudioWorklet or the appliance will not start
//   a recording; sent with the form (as the `file` field) at Submit.
// Either way the audio is held in memory only, never in localStorage or IndexedDB: no PHI in
// browser storage.
(function () {
  "use strict";
  var section = document.getElementById("recorder");
  var form = document.getElementById("dictation-form");
  if (!section || !form || !window.MediaRecorder || !navigator.mediaDevices) { return; }
  section.hidden = false;
  var startBtn = document.getElementById("rec-start");
  var pauseBtn = document.getElementById("rec-pause");
  var stopBtn = document.getElementById("rec-stop");
  var timerEl = document.getElementById("rec-timer");
  var levelEl = document.getElementById("rec-level");
  var stateEl = document.getElementById("rec-state");
  var token = form.elements.namedItem("csrf_token").value;
  var DETAILS = ["session_date", "start_time", "duration_minutes", "service_code", "modality",
                 "note_format", "submission"];
  var RATE = 16000;
  // Three seconds a chunk: at Stop at most that much (and the chunk in flight) is left to send,
  // so the wait after Stop stays short; a dropped connection leaves only seconds per chunk in
  // memory; and a request (sealed, fsynced, audited) every three seconds is light work for the
  // appliance, 96 KB each, far under its 60-second cap on one chunk.
  var CHUNK_SAMPLES = 3 * RATE;
  var MAX_BACKOFF_MS = 15000;
  // The live transcript's poll: the appliance hears a stretch every 16 to 28 s of speech, so a
  // look every few seconds shows each one soon after it is stored.
  var LIVE_POLL_MS = 3000;
  var liveEl = document.getElementById("rec-live");
  var liveText = document.getElementById("rec-live-text");
  var liveState = document.getElementById("rec-live-state");
  var liveStretches = 0, liveTimer = null;

  var mode = null, stream = null, analyser = null, levels = null, paused = false;
  var elapsed = 0, tickedAt = 0, timer = null;
  var recorder = null, chunks = [], blob = null;             // whole
  var recording = null, capture = null, context = null;      // streamed
  var pending = [], pendingSamples = 0, nextCut = 0, unsent = [];
  var sending = false, retryTimer = null, backoff = 0;
  var stopped = false, flushed = false, full = false, failed = false, left = false;

  function show() {
    var total = Math.floor(elapsed / 1000), m = Math.floor(total / 60), s = total % 60;
    timerEl.textContent = m + ":" + (s < 10 ? "0" : "") + s;
  }
  function capturing() {
    if (mode === "whole") { return recorder.state === "recording"; }
    return mode === "streamed" && !paused && !stopped;
  }
  function tick() {
    var now = Date.now();
    if (capturing()) { elapsed += now - tickedAt; }
    tickedAt = now;
    show();
    if (analyser) {
      analyser.getByteTimeDomainData(levels);
      var peak = 0;
      for (var i = 0; i < levels.length; i++) { peak = Math.max(peak, Math.abs(levels[i] - 128) / 128); }
      levelEl.value = peak;
    }
  }
  function meter(audioContext, source) {
    analyser = audioContext.createAnalyser();
    levels = new Uint8Array(analyser.fftSize);
    source.connect(analyser);
  }
  function post(url, body) {
    return fetch(url, { method: "POST", body: body, credentials: "same-origin",
                        headers: { Accept: "application/json", "X-CSRF-Token": token } });
  }
  function answer(response) {
    return response.json().then(
      function (body) { return { status: response.status, body: body }; },
      function () { return { status: response.status, body: {} }; });
  }

  // ---- Streamed ----

  // Resolves "streamed" once the appliance has started the recording and audio flows to it,
  // "refused" for a session detail to correct first, "whole" for any other failure.
  function openStream() {
    if (!window.AudioWorkletNode || !window.AudioContext) { return Promise.resolve("whole"); }
    var audio;
    try { audio = new AudioContext({ sampleRate: RATE }); } catch (e) { audio = new AudioContext(); }
    var data = new FormData(form), params = new URLSearchParams();
    DETAILS.forEach(function (name) { params.set(name, data.get(name) || ""); });
    params.set("audio_format", "s16le-16k-mono");
    function abandon() {
      if (capture) { capture.port.onmessage = null; capture = null; }
      pending = []; pendingSamples = 0; unsent = []; nextCut = 0; analyser = null;
      audio.close();
    }
    return audio.audioWorklet.addModule("/static/pcm-capture.js")
      .then(function () {
        // The audio graph is built before the start, so that a browser that cannot build it
        // falls back before the appliance holds a recording that will never get audio. What
        // is captured meanwhile waits in `pending`.
        capture = new AudioWorkletNode(audio, "pcm-capture",
          { channelCount: 1, channelCountMode: "explicit" });
        capture.port.onmessage = captured;
        var source = audio.createMediaStreamSource(stream);
        source.connect(capture);
        // Connected to the output (it writes silence) so that the browser keeps pulling it.
        capture.connect(audio.destination);
        meter(audio, source);
        audio.resume();
        return post(form.dataset.recordings, params).then(answer);
      })
      .then(function (started) {
        if (started.status === 201) {
          recording = started.body;
          section.dataset.dictation = recording.id;
          context = audio;
          pump();
          watchLive();
          return "streamed";
        }
        abandon();
        if (started.status === 400 && started.body.error) {
          stateEl.textContent = started.body.error;
          return "refused";
        }
        return "whole";
      })
      .catch(function () { abandon(); return "whole"; });
  }

  function captured(event) {
    if (event.data.samples) {
      pending.push(event.data.samples);
      pendingSamples += event.data.samples.length;
      if (pendingSamples >= CHUNK_SAMPLES) { cut(); }
    }
    if (event.data.done) {
      cut();
      release();
      flushed = true;
      pump();
    }
  }

  function cut() {
    if (!pendingSamples || full) { pending = []; pendingSamples = 0; return; }
    // Written little-endian explicitly (the appliance's s16le), whatever the machine's order.
    var bytes = new ArrayBuffer(pendingSamples * 2), view = new DataView(bytes), at = 0;
    pending.forEach(function (block) {
      for (var i = 0; i < block.length; i++) { view.setInt16(at, block[i], true); at += 2; }
    });
    unsent.push({ sequence: nextCut++, bytes: bytes });
    pending = []; pendingSamples = 0;
    pump();
  }

  function release() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    if (context && context.state !== "closed") { context.close(); }
  }

  function unsentSeconds() {
    var samples = pendingSamples;
    unsent.forEach(function (c) { samples += c.bytes.byteLength / 2; });
    return Math.round(samples / RATE);
  }

  // Sends the oldest unsent chunk, one request at a time so that they arrive in order; an
  // acknowledged chunk is durable on the appliance and is dropped from memory.
  function pump() {
    if (!recording || sending || retryTimer || failed || left) { return; }
    if (!unsent.length) { if (flushed) { finish(); } return; }
    sending = true;
    var chunk = unsent[0], body = new FormData();
    body.set("sequence", String(chunk.sequence));
    body.set("file", new Blob([chunk.bytes], { type: "application/octet-stream" }), "chunk.pcm");
    post(recording.chunks, body).then(answer).then(function (reply) {
      sending = false;
      if ((reply.status === 200 || reply.status === 201) && typeof reply.body.next_sequence !== "number") {
        // Not the appliance's answer (a sign-in page after the session ended, say): sending
        // again would loop, so the clinician is told instead.
        return fail("The appliance did not take the recording. Sign in again and record once more.");
      } else if (reply.status === 200 || reply.status === 201) {
        acknowledged(reply.body.next_sequence);
      } else if (reply.status === 409 && reply.body.reason !== "not_recording") {
        // A gap, or a number already stored: resume from the one the appliance expects.
        if (reply.body.expected_sequence < chunk.sequence) {
          return fail("Part of the recording was lost on the way. Stop and record again.");
        }
        acknowledged(reply.body.expected_sequence);
      } else if (reply.status === 413) {
        // What arrived is kept; nothing more fits, so the recording ends here.
        full = true; unsent = [];
        stateEl.textContent = reply.body.error;
        if (!stopped) { stop(); }
        return pump();
      } else if (reply.status >= 500) {
        return retry(reply.body.error);
      } else {
        return fail(reply.body.error || "The recording could not be sent.");
      }
      backoff = 0;
      if (!stopped && !paused) { stateEl.textContent = "Recording…"; }
      pump();
    }, function () { sending = false; retry(null); });
  }

  function acknowledged(next) {
    while (unsent.length && unsent[0].sequence < next) { unsent.shift(); }
  }

  function retry(reason) {
    backoff = Math.min(MAX_BACKOFF_MS, Math.max(1000, backoff * 2));
    stateEl.textContent = (reason || "The connection to the appliance was lost.") + " " +
      unsentSeconds() + " s of the recording is kept in this page and sent again in " +
      Math.round(backoff / 1000) + " s; keep the page open.";
    retryTimer = window.setTimeout(function () { retryTimer = null; pump(); }, backoff);
  }

  function fail(message) {
    failed = true;
    if (!stopped) { window.clearInterval(timer); stopped = true; release(); }
    pauseBtn.disabled = true; stopBtn.disabled = true;
    // What did arrive is finished by the appliance once the recording is idle; another
    // recording from this page goes whole, with the form.
    startBtn.disabled = false; startBtn.textContent = "Record again";
    stateEl.textContent = message;
  }

  var stopSent = false;
  function finish() {
    if (stopSent) { return; }
    stopSent = true;
    sending = true;
    post(recording.stop, new URLSearchParams()).then(answer).then(function (reply) {
      sending = false;
      if (reply.status === 200 && typeof reply.body.location === "string") {
        left = true;
        window.location.assign(reply.body.location);
      } else if (reply.status >= 500) {
        stopSent = false; retry(reply.body.error);
      } else {
        fail(reply.body.error || "The recording could not be finished.");
      }
    }, function () { sending = false; stopSent = false; retry(null); });
  }

  // ---- Live transcript ----

  function clock(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  // Polls what the appliance has heard so far. Marked as a background poll: it is not the
  // clinician's activity (the chunks are, while recording), so a page left open after Stop does
  // not hold the session open. Only a reply with new stretches carries text.
  function watchLive() {
    if (!recording || !recording.live || !liveEl) { return; }
    liveEl.hidden = false;
    liveState.textContent = "Listening… the first words appear after about half a minute.";
    function poll() {
      liveTimer = null;
      if (left || failed) { return; }
      fetch(recording.live + "?after=" + liveStretches, {
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-Background-Poll": "1" }
      }).then(answer).then(function (reply) {
        if (reply.status === 200) { showLive(reply.body); }
      }, function () { /* the chunks' own retry says when the appliance is away */ })
        .then(function () { if (!left && !failed) { liveTimer = window.setTimeout(poll, LIVE_POLL_MS); } });
    }
    liveTimer = window.setTimeout(poll, LIVE_POLL_MS);
  }

  function showLive(live) {
    if (typeof live.text === "string") {
      liveText.textContent = live.text;
      liveStretches = live.stretches;
    }
    var heard = Math.round(live.heard_seconds), received = Math.round(live.received_seconds);
    var line = heard ? "Heard " + heard + " s of the " + received + " s received." :
      received + " s received; nothing heard yet.";
    if (live.audio_shredded_at) {
      line += " The audio of what was heard was deleted at " + clock(live.audio_shredded_at) + ".";
    }
    liveState.textContent = line;
  }

  // ---- Whole ----

  function openWhole() {
    chunks = []; blob = null;
    var audio = new AudioContext();
    meter(audio, audio.createMediaStreamSource(stream));
    recorder = new MediaRecorder(stream);
    recorder.ondataavailable = function (e) { if (e.data.size) { chunks.push(e.data); } };
    recorder.onstop = function () {
      blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
      stream.getTracks().forEach(function (t) { t.stop(); });
      stateEl.textContent = "Recorded " + timerEl.textContent + ". Submit to send it.";
    };
    recorder.start(1000);
  }

  // ---- Buttons ----

  startBtn.addEventListener("click", function () {
    startBtn.disabled = true;
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (s) {
      stream = s;
      // A recording already streamed from this page is finished; another one goes whole.
      return (mode === null ? openStream() : Promise.resolve("whole")).then(function (how) {
        if (how === "refused") {
          stream.getTracks().forEach(function (t) { t.stop(); });
          startBtn.disabled = false;
          return;
        }
        mode = how;
        if (mode === "whole") { openWhole(); }
        elapsed = 0; tickedAt = Date.now(); paused = false;
        timer = window.setInterval(tick, 200);
        pauseBtn.disabled = false; stopBtn.disabled = false;
        pauseBtn.textContent = "Pause";
        stateEl.textContent = "Recording…";
      });
    }).catch(function () {
      startBtn.disabled = false;
      stateEl.textContent = "The microphone is not available. Upload a file or type instead.";
    });
  });

  pauseBtn.addEventListener("click", function () {
    if (mode === "whole") {
      if (recorder.state === "recording") { recorder.pause(); } else { recorder.resume(); }
      paused = recorder.state === "paused";
    } else {
      paused = !paused;
      capture.port.postMessage({ paused: paused });
    }
    pauseBtn.textContent = paused ? "Resume" : "Pause";
    stateEl.textContent = paused ? "Paused." : "Recording…";
  });

  function stop() {
    window.clearInterval(timer);
    pauseBtn.disabled = true; stopBtn.disabled = true;
    levelEl.value = 0;
    if (mode === "whole") {
      recorder.stop();
      startBtn.disabled = false;
      startBtn.textContent = "Record again";
      return;
    }
    stopped = true;
    if (!full) { stateEl.textContent = "Sending the rest of the recording…"; }
    // The worklet sends what it holds, then {done: true}: the last chunk, then Stop.
    capture.port.postMessage({ flush: true });
  }
  stopBtn.addEventListener("click", stop);

  window.addEventListener("beforeunload", function (event) {
    var whole = mode === "whole" && (recorder.state !== "inactive" || blob);
    var streamed = mode === "streamed" && !left && !failed;
    if (whole || streamed) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  form.addEventListener("submit", function (event) {
    if (mode === "streamed" && !failed) {
      // The recording is already on the appliance: Stop finishes it.
      event.preventDefault();
      if (!stopped) { stateEl.textContent = "Press Stop to finish the recording."; }
      return;
    }
    if (!blob) { return; }  // an upload or typed notes: the normal form post
    event.preventDefault();
    var data = new FormData(form);
    data.set("file", blob, "recording.webm");
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin",
                         headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 201) { return r.json().then(function (j) { blob = null; window.location.assign(j.location); }); }
        // The database away or the storage full (webui/fault_pages.py): nothing was saved, so
        // the recording stays here to send again rather than being replaced by a page.
        if (r.status === 503 || r.status === 507) {
          return r.json().then(function (j) { stateEl.textContent = j.error + " Your recording is still here."; });
        }
        return r.text().then(function (html) { document.open(); document.write(html); document.close(); });
      })
      .catch(function () { stateEl.textContent = "Sending failed; your recording is still here. Try again."; });
  });
})();
