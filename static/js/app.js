// Small helpers on top of htmx. Every action also works without this file (plain forms);
// this adds the company's colours, drag-and-drop on the board, "select this page", confirmations
// and closing dialogs. Nothing here is inline in a template: the CSP allows only our static files.
(function () {
  "use strict";

  // Colours a company picks (tags, stages) come as data-tag-colour / data-stage-colour. The CSP
  // refuses style= attributes, so each colour becomes one rule in a stylesheet built here (the
  // CSSOM, which the CSP allows): [data-tag-colour="#2e90fa"] { --tag: #2e90fa; }. Content htmx
  // swaps in later gets its rules before it is painted (a MutationObserver runs as a microtask).
  const COLOUR_PROPERTIES = { "data-tag-colour": "--tag", "data-stage-colour": "--stage" };
  const COLOUR = /^#[0-9a-fA-F]{6}$/;
  const colourSheet = new CSSStyleSheet();
  const coloured = new Set();
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, colourSheet];
  function addColourRules() {
    Object.entries(COLOUR_PROPERTIES).forEach(function ([attribute, property]) {
      document.querySelectorAll("[" + attribute + "]").forEach(function (el) {
        const colour = el.getAttribute(attribute);
        if (!COLOUR.test(colour) || coloured.has(attribute + colour)) return;
        coloured.add(attribute + colour);
        colourSheet.insertRule(`[${attribute}="${colour}"] { ${property}: ${colour}; }`);
      });
    });
  }
  addColourRules();
  new MutationObserver(addColourRules).observe(document.documentElement, {
    childList: true,
    subtree: true,
  });

  function csrfHeaders() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    } catch (e) {
      return {};
    }
  }

  document.addEventListener("htmx:responseError", function () {
    const page = document.querySelector("main.page");
    if (!page) return;
    let flash = page.querySelector("ul.flash");
    if (!flash) {
      // the live region wraps the list: a list given role=status is no longer a list
      const region = document.createElement("div");
      region.setAttribute("role", "status");
      flash = document.createElement("ul");
      flash.className = "flash";
      region.append(flash);
      page.prepend(region);
    }
    const item = document.createElement("li");
    item.className = "flash-error";
    item.textContent = document.body.dataset.requestFailed || "Request failed";
    flash.append(item);
  });

  // layout: on a phone the header's menu folds behind its button (base.html); the button says
  // whether it is open (aria-expanded, which the CSS reads), and Escape folds it again.
  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest(".menu-toggle");
    if (!button) return;
    button.setAttribute("aria-expanded", String(button.getAttribute("aria-expanded") !== "true"));
  });
  document.addEventListener("keydown", function (event) {
    const button = event.key === "Escape" && document.querySelector('.menu-toggle[aria-expanded="true"]');
    if (!button) return;
    button.setAttribute("aria-expanded", "false");
    button.focus();
  });

  // Board: drag a card onto another column. The card only moves when the server says so.
  let dragged = null;
  document.addEventListener("dragstart", function (event) {
    const card = event.target.closest && event.target.closest(".board-card");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
  });
  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    document.querySelectorAll(".cards.drop-target").forEach(function (el) {
      el.classList.remove("drop-target");
    });
  });
  document.addEventListener("dragover", function (event) {
    const column = event.target.closest && event.target.closest("[data-drop-stage]");
    if (!column || !dragged) return;
    event.preventDefault();
    column.classList.add("drop-target");
  });
  document.addEventListener("dragleave", function (event) {
    const column = event.target.closest && event.target.closest("[data-drop-stage]");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
  });
  document.addEventListener("drop", function (event) {
    const column = event.target.closest && event.target.closest("[data-drop-stage]");
    if (!column || !dragged) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    const card = dragged;
    const toStage = column.dataset.dropStage;
    if (toStage === card.dataset.stage) return;
    const owner = new URLSearchParams(window.location.search).get("owner") || "";
    htmx.ajax("POST", card.dataset.moveUrl, {
      source: card,
      target: "#board-messages",
      swap: "innerHTML",
      headers: csrfHeaders(),
      values: { to_stage: toStage, version: card.dataset.version, origin: "board", owner: owner },
    });
  });

  // Contact list: the header checkbox selects the rows of this page.
  document.addEventListener("change", function (event) {
    if (!event.target.matches("[data-select-page]")) return;
    const table = event.target.closest("table");
    table.querySelectorAll('tbody input[type="checkbox"][name="ids"]').forEach(function (box) {
      box.checked = event.target.checked;
    });
  });

  // The search box searches as one types ("input"); its "change", when it loses focus, would
  // search again, and that answer's new address would cancel the click that took the focus
  // away (a contact's link). The filters' selects still search on "change".
  document.addEventListener("change", function (event) {
    if (event.target.id === "id_q") event.stopPropagation();
  }, true);

  // Confirmations: data-confirm always asks; data-confirm-all asks when the bulk form is set to
  // every contact matching the search.
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-confirm], [data-confirm-all]");
    if (!button) return;
    let question = button.dataset.confirm;
    if (!question && button.dataset.confirmAll) {
      const all = document.querySelector('input[name="scope"][value="all"]');
      question = all ? button.dataset.confirmAll : "";
    }
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // Tag suggestions close on Escape or when focus leaves the tag form.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll(".suggestions").forEach(function (box) { box.innerHTML = ""; });
    }
  });
  document.addEventListener("focusout", function (event) {
    const form = event.target.closest && event.target.closest(".tag-add");
    if (!form) return;
    setTimeout(function () {
      if (!form.contains(document.activeElement)) {
        form.querySelectorAll(".suggestions").forEach(function (box) { box.innerHTML = ""; });
      }
    }, 150);
  });

  // Dialogs: Cancel or Escape closes without leaving the page.
  function closeDialog() {
    const dialog = document.getElementById("dialog");
    if (dialog) dialog.innerHTML = "";
  }
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-close-dialog]") && document.querySelector("#dialog .dialog")) {
      event.preventDefault();
      closeDialog();
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeDialog();
  });
  // After a move the card is drawn anew in its column: keep the keyboard user's place on it.
  // (And after a tag is added or removed, the tag input: keep typing where you were.)
  document.addEventListener("htmx:afterSettle", function () {
    const target = document.querySelector("[data-just-moved], [data-autofocus]");
    if (!target) return;
    target.removeAttribute("data-just-moved");
    target.removeAttribute("data-autofocus");
    target.focus({ preventScroll: false });
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id === "dialog") {
      const first = event.target.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
    }
  });

  // a11y: Escape folds the menu the focus is in (a card's "Move to…", the company switcher, a
  // filter's fold) and gives the focus back to its summary, the button that opened it. A picker's
  // list inside closes first (pickers.js stops the key there).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    const here = document.activeElement;
    const menu = here && here.closest && here.closest("details[open]");
    if (!menu || menu.closest("#dialog")) return;
    menu.open = false;
    const summary = menu.querySelector(":scope > summary");
    if (summary) summary.focus();
  });

  // a11y: a dialog gives the focus back to what opened it when it closes (Escape, Cancel, or
  // done), and Tab stays inside it while it is open (it is aria-modal). htmx may have drawn the
  // opener's part anew meanwhile: then the same control in the new part takes the focus.
  let lastTrigger = null;
  let opener = null;
  document.addEventListener("htmx:beforeRequest", function () {
    lastTrigger = document.activeElement;
  });
  function openDialog() {
    return document.querySelector("#dialog .dialog");
  }
  // The same control found again by what it is: its id, or its form's action, tag and name.
  function selectorFor(el) {
    if (el.id) return "#" + CSS.escape(el.id);
    const form = el.form || el.closest("form");
    if (!form || !form.getAttribute("action")) return null;
    let selector = 'form[action="' + CSS.escape(form.getAttribute("action")) + '"] ' + el.tagName.toLowerCase();
    if (el.name) selector += '[name="' + CSS.escape(el.name) + '"]';
    if (el.tagName === "BUTTON" && el.value) selector += '[value="' + CSS.escape(el.value) + '"]';
    return selector;
  }
  function sameControl(el) {
    if (!el || el === document.body) return null;
    if (el.isConnected) return el;
    const selector = selectorFor(el);
    return selector ? document.querySelector(selector) : null;
  }
  // Done in a dialog may load the whole page again (HX-Redirect: fields of the page changed):
  // the opener is remembered for that page, for a few seconds, and takes the focus there.
  const FOCUS_BACK = "funnel:focus-back";
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    const xhr = event.detail.xhr;
    const to = xhr && xhr.getResponseHeader("HX-Redirect");
    if (!to || !opener || !opener.isConnected) return;
    const selector = selectorFor(opener);
    if (!selector) return;
    try {
      sessionStorage.setItem(FOCUS_BACK, JSON.stringify({
        path: new URL(to, window.location.href).pathname, selector: selector, at: Date.now(),
      }));
    } catch (e) { /* no storage: the page starts at its top, as before */ }
  });
  try {
    const stored = JSON.parse(sessionStorage.getItem(FOCUS_BACK) || "null");
    sessionStorage.removeItem(FOCUS_BACK);
    if (stored && stored.path === window.location.pathname && Date.now() - stored.at < 10000) {
      const back = document.querySelector(stored.selector);
      if (back) back.focus();
    }
  } catch (e) { /* nothing remembered */ }
  // Closed by an answer of htmx (done): its new parts are in place once it has settled; closed
  // by Escape or Cancel: at once. A place the answer chose itself (a moved card) is kept.
  let swapping = false;
  let pendingBack = null;
  function giveFocusBack() {
    if (!pendingBack || swapping) return;
    const now = document.activeElement;
    const back = now && now !== document.body && now.isConnected ? null : sameControl(pendingBack);
    pendingBack = null;
    if (back) back.focus();
  }
  document.addEventListener("htmx:beforeSwap", function () { swapping = true; });
  document.addEventListener("htmx:afterSettle", function () {
    swapping = false;
    giveFocusBack();
  });
  document.addEventListener("htmx:responseError", function () { swapping = false; });
  const dialogBox = document.getElementById("dialog");
  if (dialogBox) {
    new MutationObserver(function () {
      if (openDialog()) {
        if (!opener) opener = lastTrigger && !dialogBox.contains(lastTrigger) ? lastTrigger : null;
        return;
      }
      if (!opener) return;
      pendingBack = opener;
      opener = null;
      setTimeout(giveFocusBack, 0);
    }).observe(dialogBox, { childList: true, subtree: true });
  }
  document.addEventListener("keydown", function (event) {
    const dialog = event.key === "Tab" && openDialog();
    if (!dialog) return;
    const stops = Array.from(dialog.querySelectorAll(
      'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])'
    ));
    if (!stops.length) return;
    const first = stops[0];
    const last = stops[stops.length - 1];
    if (!dialog.contains(document.activeElement)) {
      event.preventDefault();
      first.focus();
    } else if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
})();
