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
          selectors.forEach(function (sel) {
            var fresh = doc.querySelector(sel.trim());
            var old = document.querySelector(sel.trim());
            if (fresh && old && !old.contains(document.activeElement)) { old.replaceWith(fresh); }
          });
          box.setAttribute("data-version", version);
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

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live-url]"), watch);
    Array.prototype.forEach.call(document.querySelectorAll("input[readonly]"), function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  });
})();
