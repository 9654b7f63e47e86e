// Live progress of a dictation: polls its status and reloads when the transcript is ready.
// Neither the polls (X-Background-Poll) nor the reload (?auto=1) count as activity for the
// automatic logoff: an unattended progress page must still sign its person out (webui/auth.py).
(function () {
  "use strict";
  var AUTO = "auto";
  // Loaded by this script itself: drop the flag from the address bar, so that a reload by hand
  // or a copied link afterwards counts as activity, as it should.
  if (new URLSearchParams(window.location.search).get(AUTO) === "1") {
    var shown = new URL(window.location.href);
    shown.searchParams.delete(AUTO);
    window.history.replaceState(window.history.state, "", shown.toString());
  }
  var box = document.getElementById("progress");
  if (!box) { return; }
  var done = { ready: true, failed: true };
  if (done[box.dataset.state]) { return; }
  var stateEl = document.getElementById("progress-state");
  var detailEl = document.getElementById("progress-detail");
  var messageEl = document.getElementById("progress-message");

  // A desktop notification needs the person's permission, asked from a click. It names no
  // client: a notification shows over a locked screen.
  var notifyButton = document.getElementById("notify-me");
  if (notifyButton && "Notification" in window && Notification.permission === "default") {
    notifyButton.hidden = false;
    notifyButton.addEventListener("click", function () {
      Notification.requestPermission().then(function () { notifyButton.hidden = true; });
    });
  }

  function minutes(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json", "X-Background-Poll": "1" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { return; }
        stateEl.textContent = s.state.charAt(0).toUpperCase() + s.state.slice(1);
        var parts = [];
        if (s.queue_position) { parts.push("position " + s.queue_position + " in the queue"); }
        parts.push(minutes(s.elapsed_seconds) + " since submitted");
        detailEl.textContent = parts.join(" · ");
        messageEl.textContent = s.message || "";
        if (done[s.state]) {
          if (s.state === "ready" && "Notification" in window && Notification.permission === "granted") {
            new Notification("Draft note ready", { body: "Open the appliance to review it." });
          }
          var next = new URL(window.location.href);
          next.searchParams.set(AUTO, "1");
          window.location.replace(next.toString());
        }
      })
      .catch(function () { /* the server may be restarting; the next poll will tell */ });
  }
  window.setInterval(poll, 2000);
  poll();
})();
