// Typeaheads: an input with data-typeahead-url lists matches under itself as the user types
// (the create form's "Find assignee", the link form's suggestions). The ARIA combobox pattern
// (https://www.w3.org/WAI/ARIA/apg/patterns/combobox/): role=combobox on the input, a listbox
// it controls, the highlighted option named by aria-activedescendant, the count said by a
// polite live region. Keys: Down/Up move, Enter chooses, Escape closes (then clears).
//
// One request per pause in typing (PAUSE_MS after the last key), the same text is never asked
// twice in a row, and an answer that arrives after newer typing is dropped. The server answers
// with the options fragment (integrations/_typeahead_options.html) and caches briefly.
//
// Choosing an option puts its data-text in the input; with data-typeahead-fills it also
// chooses its data-value in that <select> (adding the option if the page has not listed it).
// Without JavaScript none of this runs: the Find button and the full page still work.
(function () {
  "use strict";
  var PAUSE_MS = 300;

  function setUp(input) {
    if (input.dataset.typeaheadReady) {
      return;
    }
    input.dataset.typeaheadReady = "1";
    var listbox = document.getElementById(input.dataset.typeaheadListbox);
    var status = document.getElementById(input.dataset.typeaheadStatus);
    var fills = input.dataset.typeaheadFills
      ? document.getElementById(input.dataset.typeaheadFills)
      : null;
    var timer = null;
    var asked = null;
    var pending = null;
    var active = -1;

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listbox.id);
    input.setAttribute("autocomplete", "off");
    var describedBy = (input.getAttribute("aria-describedby") || "").split(" ");
    if (describedBy.indexOf(status.id) < 0) {
      describedBy.push(status.id);
      input.setAttribute("aria-describedby", describedBy.join(" ").trim());
    }
    var find = input.form && input.form.querySelector('[data-find-button="' + input.name + '"]');
    if (find) {
      find.hidden = true; // the list replaces the page's Find round trip
    }

    function options() {
      return Array.prototype.slice.call(listbox.querySelectorAll("[role=option]"));
    }

    function isOpen() {
      return input.getAttribute("aria-expanded") === "true";
    }

    function open(show) {
      listbox.hidden = !show;
      input.setAttribute("aria-expanded", show ? "true" : "false");
      if (!show) {
        highlight(-1);
      }
    }

    function highlight(index) {
      var all = options();
      active = index;
      all.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0 && all[index]) {
        input.setAttribute("aria-activedescendant", all[index].id);
        all[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function say(message) {
      status.textContent = message;
    }

    function show(html, query) {
      if (query !== input.value.trim()) {
        return; // typed on since: a newer answer is coming
      }
      var template = document.createElement("template");
      template.innerHTML = html;
      var answer = template.content.querySelector("ul");
      listbox.replaceChildren();
      if (answer) {
        Array.prototype.slice.call(answer.children).forEach(function (option, i) {
          option.id = listbox.id + "-" + i;
          listbox.appendChild(option);
        });
      }
      say(answer ? answer.getAttribute("data-message") || "" : "");
      open(options().length > 0);
    }

    function ask(now) {
      window.clearTimeout(timer);
      var query = input.value.trim();
      if (query === asked && !now) {
        return;
      }
      asked = query;
      if (pending) {
        pending.abort();
      }
      pending = new AbortController();
      var url = input.dataset.typeaheadUrl + "q=" + encodeURIComponent(query);
      fetch(url, {
        credentials: "same-origin",
        headers: { "HX-Request": "true" },
        signal: pending.signal,
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("status " + response.status);
          }
          return response.text();
        })
        .then(function (html) {
          show(html, query);
        })
        .catch(function (error) {
          if (error.name !== "AbortError") {
            asked = null; // let the next pause try again
            say("The search could not be run. Try again in a moment.");
            open(false);
          }
        });
    }

    function choose(index) {
      var option = options()[index];
      if (!option) {
        return;
      }
      input.value = option.getAttribute("data-text");
      asked = input.value.trim(); // the chosen text needs no search of its own
      if (fills) {
        var value = option.getAttribute("data-value");
        var existing = Array.prototype.slice.call(fills.options).filter(function (o) {
          return o.value === value;
        });
        if (!existing.length) {
          fills.appendChild(new Option(option.getAttribute("data-text"), value));
        }
        fills.value = value;
        fills.dispatchEvent(new Event("change", { bubbles: true }));
      }
      open(false);
      say(option.getAttribute("data-text") + " chosen.");
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, PAUSE_MS);
    });
    input.addEventListener("focus", function () {
      if (asked === null && !input.value.trim()) {
        ask(); // an empty input: the answer says what to type; no remote call
      }
    });
    input.addEventListener("blur", function () {
      open(false);
    });
    input.addEventListener("keydown", function (event) {
      var count = options().length;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!count) {
          return;
        }
        event.preventDefault();
        open(true);
        var step = event.key === "ArrowDown" ? 1 : -1;
        highlight(active < 0 && step < 0 ? count - 1 : (active + step + count) % count);
      } else if (event.key === "Enter") {
        if (isOpen() && active >= 0) {
          event.preventDefault();
          choose(active);
        } else if (find) {
          event.preventDefault(); // Enter searches here, as Find did; it never creates
          ask(true);
        }
      } else if (event.key === "Escape") {
        if (isOpen()) {
          event.preventDefault();
          open(false);
        } else if (input.value) {
          event.preventDefault();
          input.value = "";
          asked = null;
          say("");
        }
      }
    });
    // mousedown would blur the input first (closing the list); keep the focus in it.
    listbox.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    listbox.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (option) {
        choose(options().indexOf(option));
      }
    });
  }

  function setUpWithin(root) {
    if (root.matches && root.matches("input[data-typeahead-url]")) {
      setUp(root);
    }
    root.querySelectorAll("input[data-typeahead-url]").forEach(setUp);
  }

  setUpWithin(document);
  // Fragments htmx swaps in (the create form's fields, the link form) bring new inputs.
  document.addEventListener("htmx:load", function (event) {
    setUpWithin(event.detail.elt);
  });
})();
