// Progress while Jira is asked: a submit button with data-busy-label shows that label and
// is disabled until the page answers, so a slow check is visibly under way and a second
// click cannot send the form twice. No inline script: loaded as a static file (CSP).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter || form.querySelector("button[data-busy-label]");
    if (!button || !button.hasAttribute("data-busy-label")) {
      return;
    }
    // Disable after the browser has read the form, so the button's name/value still go.
    window.setTimeout(function () {
      button.disabled = true;
      button.textContent = button.getAttribute("data-busy-label");
      form.setAttribute("aria-busy", "true");
    }, 0);
  });
})();
