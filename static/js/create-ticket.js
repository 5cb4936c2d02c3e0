// The Create Ticket form. With htmx loaded, a choice the rest depends on (Jira: project, issue
// type) reloads only the fields that follow it (hx-post on the select, see
// integrations/ticket_forms.py); without htmx the form posts itself to reload them, keeping
// what was typed. Enter in a search input without a typeahead ("Find assignee" of a connector
// that cannot search as you type) runs its Find button instead of creating. After a refusal,
// the focus goes to the first input in error, so it is in view and read out.
(function () {
  "use strict";
  var form = document.getElementById("create-ticket");
  if (!form) {
    return;
  }
  if (!window.htmx) {
    form.querySelectorAll("[data-refreshes-form]").forEach(function (select) {
      select.addEventListener("change", function () {
        var refresh = document.createElement("input");
        refresh.type = "hidden";
        refresh.name = "_refresh";
        refresh.value = select.name;
        form.appendChild(refresh);
        form.submit();
      });
    });
  }
  form.addEventListener("keydown", function (event) {
    var query = event.target;
    if (event.key !== "Enter" || !query.matches("[data-find]:not([data-typeahead-url])")) {
      return;
    }
    var find = form.querySelector("button[name=_refresh][value=" + query.name + "]");
    if (find) {
      event.preventDefault();
      find.click();
    }
  });
  // After the load: the browser's scroll to the #create-ticket anchor resets the focus.
  window.addEventListener("load", function () {
    window.setTimeout(function () {
      var invalid = form.querySelector("[aria-invalid=true]");
      if (invalid) {
        invalid.focus({ preventScroll: true });
        invalid.scrollIntoView({ block: "center" });
      }
    }, 0);
  });
})();
