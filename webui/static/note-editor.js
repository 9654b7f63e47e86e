// The review page: autosave about 2 s after typing stops, Saved / Unsaved / Conflict, and the
// keys (Enter edits a statement, Esc leaves it, Ctrl+S saves, Alt+N jumps to the next open
// flag). Without this script the page still works: the Save button posts the same form.
(function () {
  "use strict";
  var form = document.getElementById("note-form");
  if (!form) { return; }
  var state = document.getElementById("save-state");
  var version = document.getElementById("note-version");
  var conflict = document.getElementById("conflict");
  var DELAY = 2000;
  var timer = null;
  var dirty = false;
  var saving = false;
  var stuck = false;  // a conflict: no more autosaves until the clinician chooses
  var signAfterSave = false;
  var flagCursor = -1;  // the open flag Alt+N went to last  // "Sign note" pressed with words not yet saved
  var signForm = document.getElementById("sign-form");

  function show(text, kind) {
    state.textContent = text;
    state.className = "save-state " + (kind || "");
  }

  // Positions follow the page order, so a moved statement is saved where it now stands.
  function renumber() {
    var n = 0;
    form.querySelectorAll("li.statement").forEach(function (item) {
      n += 1;
      item.querySelectorAll("[name^='st-']").forEach(function (field) {
        field.name = field.name.replace(/^st-\d+-/, "st-" + n + "-");
      });
    });
  }

  function body() {
    renumber();
    return new URLSearchParams(new FormData(form));
  }

  function announce(seconds) {
    if (seconds !== null && seconds !== undefined) {
      document.dispatchEvent(new CustomEvent("appliance:activity", { detail: { secondsLeft: seconds } }));
    }
  }

  function updateFlags(flags) {
    var open = 0;
    flags.forEach(function (flag) {
      var item = document.getElementById("flag-" + flag.id);
      if (item) { item.classList.toggle("open", flag.open); }
      if (flag.open && flag.blocking) { open += 1; }
    });
    var known = flags.map(function (f) { return "flag-" + f.id; });
    document.querySelectorAll("#flag-list li.flag").forEach(function (item) {
      if (known.indexOf(item.id) < 0) { item.hidden = true; }  // fixed by the edit
    });
    var unknown = flags.some(function (f) { return !document.getElementById("flag-" + f.id); });
    var blocked = document.getElementById("sign-blocked");
    if (blocked) { blocked.hidden = open === 0; }
    return unknown;
  }

  function updateTags(statements) {
    Object.keys(statements).forEach(function (id) {
      var holder = document.querySelector("#st-" + id + " .st-state");
      if (!holder) { return; }
      holder.textContent = "";
      if (statements[id]) {
        var tag = document.createElement("span");
        tag.className = "tag";
        tag.textContent = statements[id];
        holder.appendChild(tag);
      }
    });
  }

  function save(overVersion) {
    if (saving || stuck) { return; }
    window.clearTimeout(timer);
    saving = true;
    dirty = false;
    show("Saving…", "pending");
    var data = body();
    if (overVersion) { data.set("version", overVersion); }
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body: data.toString(),
    }).then(function (response) {
      return response.json().then(function (answer) { return { status: response.status, answer: answer }; });
    }).then(function (result) {
      saving = false;
      var answer = result.answer;
      if (result.status !== 200) { signAfterSave = false; }
      if (result.status === 409) { showConflict(answer); return; }
      if (result.status !== 200) { show("Not saved: " + (answer.error || "try again"), "error"); dirty = true; return; }
      version.value = answer.version;
      document.querySelectorAll(".sign-version").forEach(function (input) { input.value = answer.version; });
      announce(answer.seconds_left);
      updateTags(answer.statements || {});
      var newFlags = updateFlags(answer.flags);
      if (signAfterSave && !dirty) {
        signAfterSave = false;
        // What is signed is what was just saved: the form now carries its version.
        signForm.submit();
        return;
      }
      if (answer.reload || newFlags) { window.location.reload(); return; }
      show(dirty ? "Unsaved changes" : "Saved " + answer.saved_at, dirty ? "unsaved" : "saved");
    }).catch(function () {
      saving = false;
      dirty = true;
      signAfterSave = false;
      show("Not saved (no connection); retrying", "error");
      timer = window.setTimeout(save, DELAY * 3);
    });
  }

  function listItem(text, hint) {
    var item = document.createElement("li");
    if (hint) {
      var label = document.createElement("span");
      label.className = "hint";
      label.textContent = hint + " ";
      item.appendChild(label);
    }
    item.appendChild(document.createTextNode(text));
    return item;
  }

  function showConflict(answer) {
    stuck = true;
    show("Conflict: not saved", "error");
    var theirs = document.getElementById("conflict-theirs");
    var yours = document.getElementById("conflict-yours");
    theirs.textContent = "";
    yours.textContent = "";
    answer.theirs.forEach(function (s) { theirs.appendChild(listItem(s.text, s.title)); });
    form.querySelectorAll("li.statement textarea.st-text, textarea.st-new").forEach(function (area) {
      if (area.value.trim()) { yours.appendChild(listItem(area.value)); }
    });
    conflict.hidden = false;
    conflict.scrollIntoView({ block: "start" });
    document.getElementById("conflict-load").onclick = function () { window.location.reload(); };
    document.getElementById("conflict-keep").onclick = function () {
      stuck = false;
      conflict.hidden = true;
      save(String(answer.version));
    };
  }

  function changed() {
    dirty = true;
    show("Unsaved changes", "unsaved");
    window.clearTimeout(timer);
    timer = window.setTimeout(save, DELAY);
  }

  // The signature covers the saved note: unsaved words are saved first, then signed.
  if (signForm) {
    signForm.addEventListener("submit", function (event) {
      if (!dirty && !saving) { return; }
      event.preventDefault();
      if (stuck) { show("Conflict: resolve it before signing", "error"); return; }
      signAfterSave = true;
      save();
    });
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", function (event) { event.preventDefault(); save(); });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if ((event.ctrlKey || event.metaKey) && event.key === "s") {
      event.preventDefault();
      save();
      return;
    }
    if (event.altKey && (event.key === "n" || event.key === "N")) {
      event.preventDefault();
      var open = Array.prototype.slice.call(document.querySelectorAll("#flag-list li.flag.open:not([hidden])"));
      if (!open.length) { return; }
      // A cursor of its own: focus lands on the flag's statement, which is not in the list.
      flagCursor = (flagCursor + 1) % open.length;
      var next = open[flagCursor];
      var statement = next.dataset.statement && document.getElementById("st-" + next.dataset.statement);
      (statement || next).focus();
      (statement || next).scrollIntoView({ block: "center" });
      return;
    }
    if (target.matches && target.matches("li.statement") && event.key === "Enter") {
      event.preventDefault();
      target.querySelector("textarea.st-text").focus();
      return;
    }
    if (target.matches && target.matches("textarea.st-text") && event.key === "Escape") {
      event.preventDefault();
      target.closest("li.statement").focus();
    }
  });

  // Unsaved words are saved before the idle sign-out and when the page is left.
  document.addEventListener("appliance:idle-soon", function () { if (dirty) { save(); } });
  window.addEventListener("pagehide", function () {
    if (!dirty || stuck) { return; }
    var data = body();
    fetch(form.action, {
      method: "POST", credentials: "same-origin", keepalive: true,
      headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body: data.toString(),
    });
  });
})();
