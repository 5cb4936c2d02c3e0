// The Create Ticket form: switching project or issue type reloads the choices from Jira,
// keeping what was typed; Enter in "Find assignee" runs the search instead of creating.
(function () {
  "use strict";
  var form = document.getElementById("create-ticket");
  if (!form) {
    return;
  }
  ["project", "issue_type"].forEach(function (name) {
    var select = form.querySelector("[name=" + name + "]");
    if (!select) {
      return;
    }
    select.addEventListener("change", function () {
      var refresh = document.createElement("input");
      refresh.type = "hidden";
      refresh.name = "_refresh";
      refresh.value = name;
      form.appendChild(refresh);
      form.submit();
    });
  });
  var query = form.querySelector("[name=assignee_query]");
  var find = form.querySelector("button[name=_refresh][value=assignee]");
  if (query && find) {
    query.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        find.click();
      }
    });
  }
})();
