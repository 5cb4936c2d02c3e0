// The Create Ticket form: changing a choice the rest depends on (Jira: project, issue type)
// reloads the choices from the ticketing system, keeping what was typed; Enter in a search
// input ("Find assignee") runs its Find button instead of creating.
(function () {
  "use strict";
  var form = document.getElementById("create-ticket");
  if (!form) {
    return;
  }
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
  form.querySelectorAll("[data-find]").forEach(function (query) {
    var find = form.querySelector("button[name=_refresh][value=" + query.name + "]");
    if (!find) {
      return;
    }
    query.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        find.click();
      }
    });
  });
})();
