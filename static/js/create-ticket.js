// Switching project or issue type reloads the choices from Jira, keeping what was typed.
for (const name of ["project", "issue_type"]) {
  const select = document.querySelector(`#create-ticket [name=${name}]`);
  select?.addEventListener("change", () => {
    const refresh = document.createElement("input");
    refresh.type = "hidden";
    refresh.name = "_refresh";
    refresh.value = name;
    select.form.appendChild(refresh);
    select.form.submit();
  });
}
