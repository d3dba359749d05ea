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
