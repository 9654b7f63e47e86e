// In-browser recording with MediaRecorder: timer, input level, pause/resume, and a warning
// before leaving the page with a recording that was not sent. The recording is sent with the
// form (as the `file` field) and never stored by the browser anywhere else.
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
  var recorder = null, chunks = [], blob = null, stream = null;
  var elapsed = 0, tickedAt = 0, timer = null, analyser = null, levels = null;

  function show() {
    var total = Math.floor(elapsed / 1000), m = Math.floor(total / 60), s = total % 60;
    timerEl.textContent = m + ":" + (s < 10 ? "0" : "") + s;
  }
  function tick() {
    var now = Date.now();
    if (recorder && recorder.state === "recording") { elapsed += now - tickedAt; }
    tickedAt = now;
    show();
    if (analyser) {
      analyser.getByteTimeDomainData(levels);
      var peak = 0;
      for (var i = 0; i < levels.length; i++) { peak = Math.max(peak, Math.abs(levels[i] - 128) / 128); }
      levelEl.value = peak;
    }
  }

  startBtn.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (s) {
      stream = s;
      chunks = []; blob = null; elapsed = 0; tickedAt = Date.now();
      var context = new AudioContext();
      analyser = context.createAnalyser();
      levels = new Uint8Array(analyser.fftSize);
      context.createMediaStreamSource(stream).connect(analyser);
      recorder = new MediaRecorder(stream);
      recorder.ondataavailable = function (e) { if (e.data.size) { chunks.push(e.data); } };
      recorder.onstop = function () {
        blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
        stream.getTracks().forEach(function (t) { t.stop(); });
        stateEl.textContent = "Recorded " + timerEl.textContent + ". Submit to send it.";
      };
      recorder.start(1000);
      timer = window.setInterval(tick, 200);
      startBtn.disabled = true; pauseBtn.disabled = false; stopBtn.disabled = false;
      stateEl.textContent = "Recording…";
    }).catch(function () {
      stateEl.textContent = "The microphone is not available. Upload a file or type instead.";
    });
  });

  pauseBtn.addEventListener("click", function () {
    if (recorder.state === "recording") {
      recorder.pause(); pauseBtn.textContent = "Resume"; stateEl.textContent = "Paused.";
    } else {
      recorder.resume(); pauseBtn.textContent = "Pause"; stateEl.textContent = "Recording…";
    }
  });

  stopBtn.addEventListener("click", function () {
    recorder.stop();
    window.clearInterval(timer);
    pauseBtn.disabled = true; stopBtn.disabled = true; startBtn.disabled = false;
    startBtn.textContent = "Record again";
    levelEl.value = 0;
  });

  window.addEventListener("beforeunload", function (event) {
    if ((recorder && recorder.state !== "inactive") || blob) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  form.addEventListener("submit", function (event) {
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
