// JSM Companion portal: time zone hint and live updates. Served from /static (the CSP forbids inline code).
(function () {
  "use strict";

  // The server formats dates in this zone unless the account has its own.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tz=" + encodeURIComponent(zone)) === -1) {
      document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (e) { /* old browser: UTC it is */ }

  function announce(text) {
    var region = document.getElementById("live-status");
    if (!region) {
      region = document.createElement("p");
      region.id = "live-status";
      region.className = "sr-only";
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    region.textContent = text;
  }

  // List rows (data-row="KEY") by key, with their text, to see which ones a live refresh changed.
  function rowTexts(root) {
    var texts = {};
    Array.prototype.forEach.call(root.querySelectorAll("tr[data-row]"), function (row) {
      texts[row.getAttribute("data-row")] = row.textContent;
    });
    return texts;
  }

  // A row that is new or changed since the last refresh gets a visible "Updated" mark (not colour alone).
  function markChanged(before) {
    if (!Object.keys(before).length) { return; }
    var word = document.documentElement.lang === "ru" ? "Обновлено" : "Updated";
    Array.prototype.forEach.call(document.querySelectorAll("tr[data-row]"), function (row) {
      if (before[row.getAttribute("data-row")] === row.textContent) { return; }
      row.classList.add("live-changed");
      var cell = row.querySelector("td");
      if (cell && !cell.querySelector(".live-mark")) {
        var mark = document.createElement("span");
        mark.className = "live-mark";
        mark.textContent = word;
        cell.appendChild(mark);
      }
    });
  }

  // A "Copy" button (data-copy="#input") puts the input's text on the clipboard and says so.
  function copyButton(button) {
    button.addEventListener("click", function () {
      var input = document.querySelector(button.getAttribute("data-copy"));
      if (!input) { return; }
      var done = function () { announce(button.getAttribute("data-copied") || "Copied"); button.textContent = button.getAttribute("data-copied") || "Copied"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
      } else {
        input.select();
        if (document.execCommand("copy")) { done(); }
      }
    });
  }

  // Poll a tiny version endpoint (ETag / If-None-Match -> 304 while nothing changed); when the version moves,
  // fetch this same page and swap in the fresh sections, so rendering and escaping stay on the server.
  function watch(box) {
    var url = box.getAttribute("data-live-url");
    var version = box.getAttribute("data-version");
    var selectors = (box.getAttribute("data-refresh") || "").split(",");
    var delay = parseInt(box.getAttribute("data-interval"), 10) || 5000;
    var stopped = false;

    function refresh() {
      return fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var doc = new DOMParser().parseFromString(html, "text/html");
          var before = rowTexts(document);
          selectors.forEach(function (sel) {
            var fresh = doc.querySelector(sel.trim());
            var old = document.querySelector(sel.trim());
            if (fresh && old && !old.contains(document.activeElement)) { old.replaceWith(fresh); }
          });
          box.setAttribute("data-version", version);
          markChanged(before);
          announce(document.documentElement.lang === "ru" ? "Обновлено" : "Updated");
        });
    }

    function tick() {
      if (stopped) { return; }
      if (document.hidden) { setTimeout(tick, delay); return; }
      fetch(url, { credentials: "same-origin", cache: "no-cache", headers: { "If-None-Match": '"' + version + '"' } })
        .then(function (r) {
          if (r.status === 304) { return null; }
          if (r.status === 401 || r.status === 404) { stopped = true; return null; }
          return r.ok ? r.json() : null;
        })
        .then(function (body) {
          if (body && body.version && body.version !== version) {
            version = body.version;
            return refresh();
          }
        })
        .catch(function () { /* offline for a moment: try again later */ })
        .then(function () { setTimeout(tick, delay); });
    }
    setTimeout(tick, delay);
  }

  // Forms marked data-autosubmit (the create page's "where" and "what kind") reload on a choice.
  function autosubmit(form) {
    Array.prototype.forEach.call(form.querySelectorAll("select"), function (select) {
      select.addEventListener("change", function () { form.submit(); });
    });
  }

  // A file input refuses more files than the server takes, saying so next to the field.
  function limitFiles(input) {
    var max = parseInt(input.getAttribute("data-max-files"), 10);
    var note = document.createElement("p");
    note.className = "field-error";
    note.id = input.id + "-limit";
    note.setAttribute("role", "alert");
    note.hidden = true;
    input.insertAdjacentElement("afterend", note);
    input.addEventListener("change", function () {
      var kept = input.form ? input.form.querySelectorAll("input[name=kept]:checked").length : 0;
      var tooMany = input.files.length + kept > max;
      note.hidden = !tooMany;
      note.textContent = tooMany ? input.getAttribute("data-too-many") : "";
      if (tooMany) {
        input.value = "";
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", note.id);
      } else {
        input.removeAttribute("aria-invalid");
      }
    });
  }

  // Esc closes an open <details> menu (Columns, account) and returns focus to its summary.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    Array.prototype.forEach.call(document.querySelectorAll("details[open]"), function (menu) {
      if (menu.classList.contains("action-form")) { return; }
      menu.open = false;
      var summary = menu.querySelector("summary");
      if (summary && menu.contains(document.activeElement)) { summary.focus(); }
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-autosubmit]"), autosubmit);
    Array.prototype.forEach.call(document.querySelectorAll("input[type=file][data-max-files]"), limitFiles);
    Array.prototype.forEach.call(document.querySelectorAll("[data-live-url]"), watch);
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), copyButton);
    Array.prototype.forEach.call(document.querySelectorAll("input[readonly]"), function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  });
})();
