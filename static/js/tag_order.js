// Ordering the tags of a group on Settings → Tags (issue 20, item 7a). The page works without
// this file: each tag's ↑ ↓ buttons are a plain form that moves it one place. This adds:
// - the buttons post in place: the group's rows come back from the server, in its order, and
//   the keyboard stays on the button that was pressed (or its pair, at the top or bottom);
// - drag and drop (HTML5): a row dragged up or down its group's table follows the pointer, and
//   on drop the group's new order (every tag's id, in order) is posted; the server's rows
//   replace ours. What the server says goes into the page's status line (role=status).
// Loaded by the tags page only; nothing inline (the CSP allows only our static files).
(function () {
  "use strict";

  const ROWS = "tbody[data-tag-order]";

  function csrfHeaders() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    } catch (e) {
      return {};
    }
  }

  function say(text) {
    const status = document.getElementById("tag-order-status");
    if (!status) return;
    status.textContent = "";
    // a moment later, so that the same words said twice are read twice
    window.setTimeout(function () { status.textContent = text || ""; }, 50);
  }

  function enhance(root) {
    root.querySelectorAll(ROWS + " tr[data-tag-id]").forEach(function (row) {
      row.draggable = true;
    });
    root.querySelectorAll(ROWS).forEach(function (rows) { rows.classList.add("sortable"); });
  }

  function ids(rows) {
    return Array.from(rows.querySelectorAll("tr[data-tag-id]"), function (row) {
      return row.dataset.tagId;
    });
  }

  function putBack(rows, order) {
    order.forEach(function (id) {
      const row = rows.querySelector('tr[data-tag-id="' + id + '"]');
      if (row) rows.append(row);
    });
  }

  // Posts to the server; its answer (the group's rows) replaces `rows`. `focus`: which button
  // to put the keyboard on afterwards ({tag, direction}). `undo`: the order to go back to if
  // the request fails.
  function send(url, body, rows, focus, undo) {
    rows.setAttribute("aria-busy", "true");
    const headers = Object.assign({ "HX-Request": "true" }, csrfHeaders());
    fetch(url, { method: "POST", body: body, headers: headers, credentials: "same-origin" })
      .then(function (response) {
        // 409: the group changed meanwhile; the answer is its rows as they are now
        if (!response.ok && response.status !== 409) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        const parsed = document.createElement("template");
        parsed.innerHTML = html.trim();
        const fresh = parsed.content.querySelector(ROWS);
        if (!fresh) throw new Error("no rows");
        rows.replaceWith(fresh);
        enhance(fresh.parentNode);
        say(fresh.dataset.said);
        if (focus) {
          const row = fresh.querySelector('tr[data-tag-id="' + focus.tag + '"]');
          const buttons = row ? Array.from(row.querySelectorAll("button[name=direction]")) : [];
          const pressed = buttons.find(function (b) { return b.value === focus.direction; });
          const target = pressed && !pressed.disabled ? pressed : buttons.find(function (b) {
            return !b.disabled;
          });
          if (target) target.focus();
        }
      })
      .catch(function () {
        rows.removeAttribute("aria-busy");
        if (undo) putBack(rows, undo);
        say(document.body.dataset.requestFailed || "Request failed");
      });
  }

  // ↑ ↓: the same form, posted in place
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.matches || !form.matches(ROWS + " form.tag-move")) return;
    const button = event.submitter;
    if (!button || button.name !== "direction") return;
    event.preventDefault();
    const body = new FormData(form, button);
    const row = form.closest("tr[data-tag-id]");
    send(form.action, new URLSearchParams(body), form.closest(ROWS),
         { tag: row.dataset.tagId, direction: button.value }, null);
  });

  // drag and drop within a group
  let dragged = null;
  let before = [];
  let dropped = false;

  document.addEventListener("dragstart", function (event) {
    const row = event.target.closest && event.target.closest(ROWS + " tr[data-tag-id]");
    if (!row) return;
    dragged = row;
    before = ids(row.parentNode);
    dropped = false;
    row.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", row.querySelector(".chip").textContent);
  });

  document.addEventListener("dragover", function (event) {
    if (!dragged) return;
    const rows = event.target.closest && event.target.closest(ROWS);
    if (rows !== dragged.parentNode) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    const row = event.target.closest("tr[data-tag-id]");
    if (!row || row === dragged) return;
    const box = row.getBoundingClientRect();
    const after = event.clientY > box.top + box.height / 2;
    rows.insertBefore(dragged, after ? row.nextSibling : row);
  });

  document.addEventListener("drop", function (event) {
    if (!dragged) return;
    const rows = event.target.closest && event.target.closest(ROWS);
    if (rows !== dragged.parentNode) return;
    event.preventDefault();
    dropped = true;
    const order = ids(rows);
    if (order.join() === before.join()) return;
    const body = new URLSearchParams();
    order.forEach(function (id) { body.append("tag", id); });
    // the order the page showed: if a colleague has reordered since, the server refuses
    // (and sends its rows) rather than undo their change
    before.forEach(function (id) { body.append("seen", id); });
    send(rows.dataset.tagOrder, body, rows, null, before);
  });

  document.addEventListener("dragend", function () {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    if (!dropped) putBack(dragged.parentNode, before); // let go outside: as it was
    dragged = null;
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  } else {
    enhance(document);
  }
})();
