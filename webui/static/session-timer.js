// Idle sign-out warning. The server ends the session on its own after the idle timeout;
// this script only makes that visible, and lets the person extend it on purpose.
// It never pings the server by itself: an unattended screen must still time out.
(function () {
  "use strict";
  var box = document.getElementById("idle-warning");
  if (!box) { return; }
  var WARN_AT = 120; // seconds before sign-out when the warning appears
  var deadline = Date.now() + Number(box.dataset.secondsLeft) * 1000;
  var countdown = document.getElementById("idle-countdown");
  var stay = document.getElementById("idle-stay");

  function format(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  // A page that saved work (the note editor) tells the timer: that request was activity.
  document.addEventListener("appliance:activity", function (event) {
    deadline = Date.now() + event.detail.secondsLeft * 1000;
    warned = false;
    tick();
  });
  var warned = false;

  function tick() {
    var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    if (left <= 15 && !warned) {
      warned = true;  // once: unsaved work is saved before the sign-out, not kept alive by it
      document.dispatchEvent(new CustomEvent("appliance:idle-soon"));
    }
    if (left <= 0) {
      window.location.assign("/login?done=idle_timeout");
      return;
    }
    countdown.textContent = format(left);
    box.hidden = left > WARN_AT;
    document.title = box.hidden ? document.title.replace(/^\(\d+:\d\d\) /, "")
      : "(" + format(left) + ") " + document.title.replace(/^\(\d+:\d\d\) /, "");
  }

  stay.addEventListener("click", function () {
    fetch("/session/keepalive", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": box.dataset.csrfToken },
    }).then(function (response) {
      if (!response.ok) { window.location.assign("/login?done=idle_timeout"); return null; }
      return response.json();
    }).then(function (body) {
      if (body) { deadline = Date.now() + body.seconds_left * 1000; tick(); }
    });
  });

  tick();
  window.setInterval(tick, 1000);
})();
