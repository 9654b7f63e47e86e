// Provenance on the draft page: hovering, focusing or clicking a statement lights up the
// transcript words it was drafted from; a click also scrolls them into view.
(function () {
  "use strict";
  var lit = [];

  function sources(item) {
    return document.querySelectorAll("#source-" + item.dataset.ref);
  }

  function light(item) {
    lit.forEach(function (el) { el.classList.remove("cited"); });
    lit = Array.prototype.slice.call(sources(item));
    lit.forEach(function (el) { el.classList.add("cited"); });
  }

  document.querySelectorAll("li.statement[data-ref]").forEach(function (item) {
    item.addEventListener("mouseenter", function () { light(item); });
    // focusin: the statement itself, or the field that edits it on the review page.
    item.addEventListener("focusin", function () { light(item); });
    item.addEventListener("click", function (event) {
      light(item);
      // Opening "original", or working in a statement's own fields, is not a jump.
      if (event.target.closest("details, textarea, input, select, label")) { return; }
      if (lit.length) { lit[0].scrollIntoView({ behavior: "smooth", block: "center" }); }
    });
  });
})();
