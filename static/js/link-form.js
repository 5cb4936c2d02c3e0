// The link form's outcome in view: after a refusal the focus goes to the input (the reason is
// right under it, and read out with it); after a link, to the line saying what was linked.
// Runs on the page's load (the no-JavaScript redirect lands here too) and after the form's own
// in-place answers, never after other swaps on the page.
(function () {
  "use strict";
  function showOutcome() {
    var form = document.getElementById("link-ticket");
    if (!form) {
      return;
    }
    var invalid = form.querySelector("[aria-invalid=true]");
    var reason = form.querySelector(".field-error");
    var done = form.querySelector(".link-done");
    if (invalid && reason) {
      invalid.focus({ preventScroll: true });
      // The reason is under the input: bring it on screen, then the input (it stays too).
      reason.scrollIntoView({ block: "nearest" });
      invalid.scrollIntoView({ block: "nearest" });
    } else if (done) {
      done.focus({ preventScroll: true });
      done.scrollIntoView({ block: "nearest" });
    }
  }
  // After the load: the browser's scroll to the #link-ticket anchor resets the focus.
  window.addEventListener("load", function () {
    window.setTimeout(showOutcome, 0);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var asker = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (asker && asker.id === "link-ticket") {
      showOutcome();
    }
  });
})();
