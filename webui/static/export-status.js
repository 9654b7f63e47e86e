// The export page while it is built: poll its state, reload the page when it changes.
(function () {
  "use strict";
  var card = document.getElementById("export");
  if (!card || ["queued", "working"].indexOf(card.dataset.state) < 0) { return; }
  var timer = window.setInterval(function () {
    fetch(card.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { window.clearInterval(timer); return; }
        if (status.state !== card.dataset.state) { window.location.reload(); return; }
        var state = document.getElementById("export-state");
        if (status.total) { state.textContent = "Working · " + status.progress + " of " + status.total + " sessions"; }
      });
  }, 2000);
})();
