// "Copy note": the signed text on the clipboard, section by section, and the copy audited.
(function () {
  "use strict";
  var button = document.getElementById("copy-note");
  var text = document.getElementById("note-text");
  if (!button || !text || !navigator.clipboard) { return; }
  var state = document.getElementById("copy-state");
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(text.textContent).then(function () {
      state.textContent = "Copied. The copy is recorded in the audit log.";
      return fetch(button.dataset.url, {
        method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": button.dataset.csrf },
      });
    }).catch(function () { state.textContent = "The browser did not allow copying; use the Text copy."; });
  });
})();
