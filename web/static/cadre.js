// Cadre web UI: a little progressive enhancement; every page works without it.
"use strict";
document.addEventListener("submit", function (event) {
  // A submit button with data-confirm asks first (for example "Disable user").
  var button = event.submitter;
  var message = button && button.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

document.addEventListener("input", function (event) {
  // Typing into a field with data-selects="ID" checks the radio button ID
  // (the interval field chooses the interval schedule).
  var id = event.target.getAttribute && event.target.getAttribute("data-selects");
  var radio = id && document.getElementById(id);
  if (radio && event.target.value !== "") {
    radio.checked = true;
  }
});

// Live parts: an element with data-refresh-url is replaced, every
// data-refresh-seconds, by the HTML fragment that URL returns (an element
// with the same id). Refreshing stops when the fresh element has no
// data-refresh-url (the task is CLOSED or SUSPENDED), and pauses while the
// tab is hidden. If the fragment cannot be had (session ended, task deleted),
// the whole page is reloaded to show why. While a mouse button or finger is
// down inside the live part, the swap waits, so a click on one of its
// buttons (the dashboard's "Stop scheduler") is never lost.
(function () {
  var live = document.querySelector("[data-refresh-url]");
  if (!live || !window.fetch || !("content" in document.createElement("template"))) {
    return;
  }
  var timer = 0;
  var last = "";
  var pressing = false;

  document.addEventListener("pointerdown", function (event) {
    pressing = live.contains(event.target);
  }, true);
  ["pointerup", "pointercancel"].forEach(function (type) {
    document.addEventListener(type, function () {
      pressing = false;
    }, true);
  });

  function later() {
    if (timer || document.hidden || !live.hasAttribute("data-refresh-url")) {
      return;
    }
    var seconds = parseInt(live.getAttribute("data-refresh-seconds"), 10) || 2;
    timer = window.setTimeout(refresh, Math.max(seconds, 1) * 1000);
  }

  function swap(html) {
    if (pressing) {
      last = ""; // swap at the next refresh instead
      return;
    }
    var t = document.createElement("template");
    t.innerHTML = html.trim();
    var fresh = t.content.firstElementChild;
    if (!fresh || fresh.id !== live.id) {
      return;
    }
    // Keep what was typed into text fields (by id) across the swap: a
    // comment half written on the approvals page survives a new case.
    live.querySelectorAll("input[id]:not([type]), input[id][type=text], textarea[id]").forEach(function (old) {
      var twin = old.value !== old.defaultValue && fresh.querySelector("#" + CSS.escape(old.id));
      if (twin && twin.tagName === old.tagName) {
        twin.value = old.value;
      }
    });
    // Keep keyboard focus on the same control (by id) across the swap.
    var focused = document.activeElement;
    var focusID = focused && live.contains(focused) ? focused.id : "";
    live.replaceWith(fresh);
    live = fresh;
    var again = focusID && document.getElementById(focusID);
    if (again) {
      again.focus({ preventScroll: true });
    }
  }

  function refresh() {
    timer = 0;
    if (document.hidden) {
      return;
    }
    fetch(live.getAttribute("data-refresh-url"), { credentials: "same-origin", cache: "no-store" })
      .then(function (res) {
        if (!res.ok || res.redirected) {
          window.location.reload();
          return null;
        }
        return res.text();
      })
      .then(function (html) {
        if (html === null) {
          return;
        }
        if (html !== last) {
          last = html;
          swap(html);
        }
        later();
      })
      .catch(function () {
        later(); // the node may be restarting: try again
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      later();
    }
  });
  later();
})();
