// Suggested corrections on the review page. Accepting one posts its own form and reloads the
// page (it works without this script); unsaved words elsewhere in the note would be lost with
// that reload, and the autosave sent as the page unloads would meet a newer version. So while
// the note has unsaved changes, a click asks for a save first instead of leaving the page.
(function () {
  "use strict";
  var state = document.getElementById("save-state");

  function unsaved() {
    return !!state && /\b(unsaved|pending|error)\b/.test(state.className);
  }

  document.querySelectorAll("form.suggestion-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!unsaved()) { return; }
      event.preventDefault();
      var button = event.submitter || document.querySelector("button[form='" + form.id + "']");
      var status = button && button.parentElement.querySelector(".suggestion-status");
      if (status) {
        status.textContent = "Save your changes first (Ctrl+S), then accept the suggestion.";
      }
    });
  });
})();
