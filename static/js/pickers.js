// Pickers and colour fields (issue 18). Each enhances a plain form control that works without
// this file, and leaves what the form posts unchanged:
// - <select multiple data-picker> (crm.widgets.PickerSelectMultiple, tag filters) becomes a
//   combobox with a listbox of its options and the chosen ones as chips. The select stays in the
//   form, hidden, and every pick sets its options and fires its "change". Keyboard: type to
//   filter, ↓/↑ to move, Enter or Space to pick or drop, Backspace in the empty box drops the last
//   chosen, Escape closes; each chip's × drops it. Enter in the box never sends the form.
// - [data-colour-field] (crm.widgets.ColourInput): the colour's text stays the posted value; the
//   browser's colour picker and the presets beside it write into it. Left empty where that means
//   another's colour, the swatch shows that colour and says whose.
(function () {
  "use strict";

  function readTexts() {
    const block = document.getElementById("widget-texts");
    try {
      return JSON.parse(block ? block.textContent : "{}");
    } catch (e) {
      return {};
    }
  }
  const TEXTS = readTexts();
  function say(key, values) {
    let text = TEXTS[key] || key;
    Object.entries(values || {}).forEach(function ([name, value]) {
      text = text.replace("{" + name + "}", value);
    });
    return text;
  }
  function fold(text) {
    return text.toLocaleLowerCase().replace(/\s+/g, " ").trim();
  }

  let made = 0;

  function enhancePicker(select) {
    if (select.dataset.pickerReady) return;
    select.dataset.pickerReady = "1";
    made += 1;
    const base = (select.id || "picker") + "-picker" + made;
    const label = select.id ? document.querySelector('label[for="' + select.id + '"]') : null;

    const picker = document.createElement("div");
    picker.className = "picker";
    const chosen = document.createElement("ul");
    chosen.className = "picker-chosen";
    chosen.setAttribute("aria-label", say("chosen", { name: label ? label.textContent.trim() : "" }));
    const input = document.createElement("input");
    input.type = "text";
    input.id = base;
    input.className = "picker-input";
    input.autocomplete = "off";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", base + "-list");
    input.placeholder = say("search");
    const describedBy = select.getAttribute("aria-describedby");
    if (describedBy) input.setAttribute("aria-describedby", describedBy);
    // a hidden control the browser would insist on cannot take the focus to say so: the box
    // says it is required instead, and the server checks it as it always did
    if (select.required) {
      select.required = false;
      input.setAttribute("aria-required", "true");
    }
    const list = document.createElement("ul");
    list.id = base + "-list";
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-multiselectable", "true");
    list.hidden = true;
    const empty = document.createElement("p");
    empty.className = "picker-empty";
    empty.textContent = say("none");
    empty.hidden = true;
    const status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");

    if (label) {
      if (!label.id) label.id = base + "-label";
      label.htmlFor = input.id;
      list.setAttribute("aria-labelledby", label.id);
    } else {
      const name = select.getAttribute("aria-label") || "";
      input.setAttribute("aria-label", name);
      list.setAttribute("aria-label", name);
    }

    const options = Array.from(select.options).map(function (option, index) {
      const item = document.createElement("li");
      item.id = base + "-option" + index;
      item.className = "picker-option";
      item.setAttribute("role", "option");
      item.textContent = option.textContent;
      item.dataset.index = String(index);
      list.append(item);
      return { option: option, item: item, key: fold(option.textContent) };
    });

    picker.append(chosen, input, list, empty, status);
    select.after(picker);
    select.hidden = true;

    let shown = []; // the options the box's text matches, in their order
    let active = -1; // which of them the arrows are on
    let navigated = false; // the arrows were used since the last key typed: Space picks

    function drawChosen() {
      chosen.replaceChildren();
      options.forEach(function (entry) {
        entry.item.setAttribute("aria-selected", entry.option.selected ? "true" : "false");
        if (!entry.option.selected) return;
        const chip = document.createElement("li");
        chip.className = "chip picker-chip";
        const text = document.createElement("span");
        text.textContent = entry.option.textContent;
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "chip-remove";
        remove.textContent = "×";
        remove.setAttribute("aria-label", say("remove", { name: entry.option.textContent }));
        remove.addEventListener("click", function () {
          toggle(entry);
          input.focus();
        });
        chip.append(text, remove);
        chosen.append(chip);
      });
      chosen.hidden = !chosen.children.length;
    }

    function setActive(index) {
      options.forEach(function (entry) { entry.item.classList.remove("active"); });
      active = shown.length ? Math.max(0, Math.min(index, shown.length - 1)) : -1;
      if (active < 0 || list.hidden) {
        input.removeAttribute("aria-activedescendant");
        return;
      }
      const item = shown[active].item;
      item.classList.add("active");
      input.setAttribute("aria-activedescendant", item.id);
      item.scrollIntoView({ block: "nearest" });
    }

    function filter() {
      const term = fold(input.value);
      shown = options.filter(function (entry) {
        const match = !term || entry.key.includes(term);
        entry.item.hidden = !match;
        return match;
      });
      list.hidden = !shown.length || input.getAttribute("aria-expanded") !== "true";
      empty.hidden = !!shown.length || input.getAttribute("aria-expanded") !== "true";
    }

    function open() {
      input.setAttribute("aria-expanded", "true");
      filter();
    }

    function close() {
      input.setAttribute("aria-expanded", "false");
      list.hidden = true;
      empty.hidden = true;
      setActive(-1);
    }

    function toggle(entry) {
      entry.option.selected = !entry.option.selected;
      status.textContent = say(entry.option.selected ? "added" : "removed", {
        name: entry.option.textContent,
      });
      drawChosen();
      // the form reacts as it did to the select itself (the contact list searches on "change")
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }

    input.addEventListener("input", function () {
      navigated = false;
      open();
      setActive(input.value.trim() ? 0 : -1);
      status.textContent = shown.length ? say(shown.length === 1 ? "match" : "matches",
        { count: shown.length }) : say("none");
    });
    // What is typed here only searches the options: it is not a change of the form's own.
    input.addEventListener("change", function (event) { event.stopPropagation(); });
    input.addEventListener("click", function () {
      if (input.getAttribute("aria-expanded") !== "true") open();
    });
    input.addEventListener("keydown", function (event) {
      const isOpen = input.getAttribute("aria-expanded") === "true";
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (event.altKey && event.key === "ArrowUp") { close(); return; }
        if (!isOpen) {
          open();
          setActive(event.key === "ArrowUp" ? shown.length - 1 : 0);
        } else {
          setActive(active + (event.key === "ArrowDown" ? 1 : -1));
        }
        navigated = true;
      } else if (event.key === "Enter") {
        // Enter in the search box picks, or opens the list: it never sends the form around it,
        // half filled in, even when nothing matches or the list is closed.
        event.preventDefault();
        if (!isOpen) {
          open();
        } else if (active >= 0) {
          toggle(shown[active]);
          if (input.value) {
            const picked = shown[active];
            input.value = "";
            filter();
            setActive(shown.indexOf(picked));
          }
        } else if (!shown.length) {
          status.textContent = say("none");
        }
      } else if (event.key === " " && isOpen && active >= 0 && navigated) {
        event.preventDefault();
        toggle(shown[active]);
      } else if (event.key === "Backspace" && !input.value) {
        const last = options.filter(function (entry) { return entry.option.selected; }).pop();
        if (last) {
          event.preventDefault();
          toggle(last);
        }
      } else if (event.key === "Escape") {
        if (isOpen) {
          event.preventDefault();
          event.stopPropagation(); // only the list closes, not a dialog around it
          close();
        } else if (input.value) {
          event.stopPropagation();
          input.value = "";
          filter();
        }
      }
    });
    list.addEventListener("mousedown", function (event) {
      event.preventDefault(); // the focus stays in the box
    });
    list.addEventListener("click", function (event) {
      const item = event.target.closest("[role=option]");
      if (!item) return;
      const entry = options[Number(item.dataset.index)];
      toggle(entry);
      setActive(shown.indexOf(entry));
    });
    picker.addEventListener("focusout", function (event) {
      if (!picker.contains(event.relatedTarget)) close();
    });
    // a change made elsewhere (a form reset, another script): the chips follow
    select.addEventListener("change", drawChosen);
    select.form && select.form.addEventListener("reset", function () {
      setTimeout(drawChosen, 0);
    });
    drawChosen();
  }

  const COLOUR = /^#[0-9a-fA-F]{6}$/;

  function enhanceColour(field) {
    if (field.dataset.colourReady) return;
    field.dataset.colourReady = "1";
    const text = field.querySelector("input.colour-text");
    const swatch = field.querySelector("input[type=color]");
    const presets = field.querySelector(".colour-presets");
    if (!text || !swatch || !presets) return;
    swatch.hidden = false;
    presets.hidden = false;
    // Empty may stand for another's colour (a tag's: its group's, the option chosen in the form's
    // select named by data-colour-default-from): the swatch shows that one and the note names it,
    // not the browser's black.
    const note = field.querySelector(".colour-default");
    const from = field.dataset.colourDefaultFrom;
    const source = from && text.form ? text.form.elements.namedItem(from) : null;
    const placeholder = text.placeholder;
    if (note) swatch.setAttribute("aria-describedby", note.id);
    function inherited() {
      const option = source && source.selectedOptions ? source.selectedOptions[0] : null;
      const colour = option ? (option.dataset.colour || "").toLowerCase() : "";
      return COLOUR.test(colour) ? colour : "";
    }
    function show() {
      const value = text.value.trim().toLowerCase();
      const standIn = value ? "" : inherited();
      if (COLOUR.test(value)) swatch.value = value;
      else if (standIn) swatch.value = standIn;
      field.classList.toggle("colour-inherited", !!standIn);
      if (note) note.hidden = !standIn;
      text.placeholder = standIn || placeholder;
      presets.querySelectorAll("[data-colour-value]").forEach(function (button) {
        button.setAttribute("aria-pressed", button.dataset.colourValue === value ? "true" : "false");
      });
    }
    if (source) source.addEventListener("change", show);
    text.addEventListener("input", show);
    swatch.addEventListener("input", function () {
      text.value = swatch.value;
      show();
    });
    presets.addEventListener("click", function (event) {
      const button = event.target.closest("[data-colour-value]");
      if (!button) return;
      text.value = button.dataset.colourValue;
      show();
      text.dispatchEvent(new Event("change", { bubbles: true }));
    });
    show();
  }

  // An undo offer (crm/undo.py) goes when its time is up: the server would refuse it by then.
  function timeUndoOffer(offer) {
    if (offer.dataset.undoTimed) return;
    offer.dataset.undoTimed = "1";
    setTimeout(function () {
      const hadFocus = offer.contains(document.activeElement);
      offer.hidden = true;
      if (hadFocus) {
        const main = document.getElementById("main");
        if (main) main.focus();
      }
    }, Math.max(0, Number(offer.dataset.undoSeconds) || 0) * 1000);
  }

  function enhance(root) {
    root.querySelectorAll("select[multiple][data-picker]").forEach(enhancePicker);
    root.querySelectorAll("[data-colour-field]").forEach(enhanceColour);
    root.querySelectorAll("[data-undo-seconds]").forEach(timeUndoOffer);
  }

  enhance(document);
  // forms htmx swaps in later (a dialog, a panel) get the same
  document.addEventListener("htmx:load", function (event) {
    if (event.target && event.target.querySelectorAll) enhance(event.target);
  });
})();
