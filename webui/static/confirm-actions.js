// Asks before irreversible-feeling admin actions (forms marked data-confirm).
// Kept out of the HTML because the Content-Security-Policy forbids inline script.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
