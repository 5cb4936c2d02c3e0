// Small behaviours every page shares. A static file (no inline script), so a strict
// Content-Security-Policy can forbid inline code.
"use strict";

// After an action the page reloads with its outcome in the messages region: move the focus
// there, so keyboard and screen-reader users hear what happened without hunting for it.
function focusMessages() {
  const messages = document.getElementById("messages");
  if (messages) messages.focus();
}

// Escape closes an open popover (a <details class="popover">) and puts the focus back on
// its summary, as a menu button would.
function closePopoverOnEscape(event) {
  if (event.key !== "Escape") return;
  for (const popover of document.querySelectorAll("details.popover[open]")) {
    popover.open = false;
    popover.querySelector("summary")?.focus();
  }
}

// A click outside an open popover closes it too.
function closePopoverOnOutsideClick(event) {
  for (const popover of document.querySelectorAll("details.popover[open]")) {
    if (!popover.contains(event.target)) popover.open = false;
  }
}

document.addEventListener("DOMContentLoaded", focusMessages);
document.addEventListener("keydown", closePopoverOnEscape);
document.addEventListener("click", closePopoverOnOutsideClick);
