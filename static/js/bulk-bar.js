// The anomaly list's bulk bar, folded away until a row is ticked, showing only the chosen
// action's options. Progressive enhancement: without this file the whole bar shows and works.
"use strict";

function bulkBar() {
  return document.querySelector("[data-bulk-bar]");
}

function rowBoxes() {
  return Array.from(document.querySelectorAll("input.row-select"));
}

// Only the chosen action's options show; the others are disabled too, so they are neither
// focused nor sent.
function showChosenOptions(bar) {
  const chosen = bar.querySelector("[data-bulk-action]").value;
  for (const group of bar.querySelectorAll("[data-bulk-options]")) {
    const mine = group.dataset.bulkOptions.split(" ").includes(chosen);
    group.hidden = !mine;
    group.disabled = !mine;
  }
}

function syncWithSelection(bar) {
  const boxes = rowBoxes();
  const ticked = boxes.filter((box) => box.checked).length;
  bar.hidden = ticked === 0;
  const said = bar.querySelector("[data-bulk-selected]");
  said.hidden = ticked === 0;
  said.textContent = ticked === 1 ? "1 row selected" : `${ticked} rows selected`;
  const pageBox = document.querySelector("input.select-page");
  if (pageBox) {
    pageBox.checked = ticked > 0 && ticked === boxes.length;
    pageBox.indeterminate = ticked > 0 && ticked < boxes.length;
  }
}

function selectPage(event) {
  for (const box of rowBoxes()) box.checked = event.target.checked;
  syncWithSelection(bulkBar());
}

function setUpBulkBar() {
  const bar = bulkBar();
  if (!bar) return;
  bar.classList.add("enhanced");
  const pageBox = document.querySelector("input.select-page");
  if (pageBox) {
    pageBox.hidden = false;
    pageBox.addEventListener("change", selectPage);
  }
  for (const box of rowBoxes()) box.addEventListener("change", () => syncWithSelection(bar));
  bar.querySelector("[data-bulk-action]").addEventListener("change", () => showChosenOptions(bar));
  showChosenOptions(bar);
  syncWithSelection(bar); // a reload may keep ticks
}

document.addEventListener("DOMContentLoaded", setUpBulkBar);
