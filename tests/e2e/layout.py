"""What a page must look like at any width, measured in the browser.

`layout_problems(page)` returns one line per fault, each naming the element by a CSS selector
and quoting its text, so a failure says what to look at. The rules:

1. The document never scrolls sideways (scrollWidth > clientWidth); the elements that stick out
   past the window's right edge are named.
2. No element's content overflows its box: an element with `overflow: visible` whose content is
   wider than its box (scrollWidth > clientWidth + 1), or one with `overflow: hidden/clip` that
   cuts its text off without an ellipsis. Only the innermost such element is named (its
   ancestors overflow because of it). Form controls (inputs scroll their own text), inline
   elements (they have no box of their own to overflow) and visually hidden text are not read.
3. Content inside a box that scrolls sideways (`overflow-x: auto|scroll`) may be wider than the
   box, but only a few boxes may scroll: a code block (`pre`, whose lines are not wrapped on
   purpose) at any width, and below 1024 px a wide table's wrapper (`.table-scroll`, the contact
   list's results) and the board (PHONE_SCROLLERS). Any other box that needs to scroll hides
   what it holds (the dashboard's funnel hid its conversion and times on a phone), and so do
   these from 1024 px up (the board's last column on a laptop).
4. Every visible `<label>` sits next to its control: the label's text within LABEL_GAP px of the
   control's box (above, below or beside it); a checkbox's or radio's label on the same line
   within CHECK_GAP px. A control has one visible label (a group's label pointing at its first
   box is a fault: a group is a fieldset with a legend), and `for=` points at an element on the
   page.
5. A date or a time ("2026-12-05", "12-05 14:30", "2026-12-05 14:30:05") never breaks over two
   lines, nor does text in an element that says it must not (ONE_LINE).
6. No text of two or more characters is squeezed into a column a character wide, one character a
   line (a table's "当/前" header, a field's "生/日" name on a phone).
"""

LABEL_GAP = 24
CHECK_GAP = 16
DESKTOP = 1024
PHONE_SCROLLERS = ".table-scroll, #contact-results, .board"
# Elements that must stay on one line whatever their text: the board card's "3 days in this stage",
# a stage's chip, a date, the header's and the settings' tabs (not "设/置" a character a line)
ONE_LINE = ".card-meta .in-stage, .stage, time, .date, .mainnav a, .subnav a"

_SCRIPT = r"""
({labelGap, checkGap, desktop, phoneScrollers, oneLine}) => {
  const problems = [];
  const root = document.documentElement;
  const width = root.clientWidth;
  const SKIP = new Set(["INPUT", "SELECT", "TEXTAREA", "OPTION", "OPTGROUP", "IMG", "SVG", "CANVAS",
    "VIDEO", "IFRAME", "PROGRESS", "METER", "SCRIPT", "STYLE", "TEMPLATE", "BR", "HEAD"]);

  function selector(el) {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) {
      if (e.id) { parts.unshift("#" + CSS.escape(e.id)); break; }
      let part = e.tagName.toLowerCase();
      const classes = [...e.classList].slice(0, 2).map((c) => "." + CSS.escape(c)).join("");
      part += classes;
      const parent = e.parentElement;
      if (parent) {
        const same = [...parent.children].filter((c) => c.tagName === e.tagName);
        if (same.length > 1) part += `:nth-of-type(${same.indexOf(e) + 1})`;
      }
      parts.unshift(part);
    }
    return parts.join(" > ");
  }
  function quote(el) {
    const text = (el.innerText || el.textContent || "").replace(/\s+/g, " ").trim();
    return text.length > 40 ? `«${text.slice(0, 40)}…»` : `«${text}»`;
  }
  function name(el) { return `${selector(el)} ${quote(el)}`; }
  function rendered(el) {  // shown: laid out, visible, not folded away in a closed <details>
    if (el.getClientRects().length === 0) return false;
    if (getComputedStyle(el).visibility === "hidden") return false;
    const folded = el.closest("details:not([open])");
    return !folded || el.closest("summary")?.parentElement === folded;
  }
  function visuallyHidden(el) {
    for (let e = el; e && e !== root; e = e.parentElement) {
      const style = getComputedStyle(e);
      if (style.clip && style.clip !== "auto" && style.position === "absolute") return true;
      if (style.clipPath && style.clipPath !== "none") return true;
      const box = e.getBoundingClientRect();
      if (box.width <= 1 && box.height <= 1 && style.overflow !== "visible") return true;
    }
    return false;
  }
  function scroller(el) {  // the nearest ancestor that scrolls sideways, if any
    for (let e = el.parentElement; e && e !== document.body && e !== root; e = e.parentElement) {
      const overflow = getComputedStyle(e).overflowX;
      if (overflow === "auto" || overflow === "scroll") return e;
    }
    return null;
  }
  function fixed(el) {
    for (let e = el; e && e !== root; e = e.parentElement) {
      if (getComputedStyle(e).position === "fixed") return true;
    }
    return false;
  }
  function gap(a, b) {  // the distance between two rectangles, 0 when they touch or overlap
    const dx = Math.max(0, a.left - b.right, b.left - a.right);
    const dy = Math.max(0, a.top - b.bottom, b.top - a.bottom);
    return { dx, dy, distance: Math.hypot(dx, dy) };
  }
  function lineCount(rects) {  // rectangles on the same line overlap vertically by half or more
    const lines = [];
    for (const r of rects) {
      if (r.width < 1 || r.height < 1) continue;
      const line = lines.find((l) => Math.min(l.bottom, r.bottom) - Math.max(l.top, r.top)
        >= Math.min(l.bottom - l.top, r.height) / 2);
      if (line) {
        line.top = Math.min(line.top, r.top);
        line.bottom = Math.max(line.bottom, r.bottom);
      } else lines.push({ top: r.top, bottom: r.bottom });
    }
    return lines.length;
  }
  const elements = [...document.body.querySelectorAll("*")].filter(
    (el) => !SKIP.has(el.tagName.toUpperCase()) && !el.closest("svg") && rendered(el));

  // 1. the document scrolls sideways
  if (root.scrollWidth > root.clientWidth) {
    const out = elements.filter((el) => !scroller(el) && !fixed(el) && !visuallyHidden(el)
      && el.getBoundingClientRect().right > width + 1);
    const outermost = out.filter((el) => !out.includes(el.parentElement)).slice(0, 5);
    problems.push(`the page scrolls sideways: ${root.scrollWidth} px wide in a ${width} px window`
      + (outermost.length ? "; past the right edge: " + outermost.map(
        (el) => `${name(el)} (right edge at ${Math.round(el.getBoundingClientRect().right)} px)`)
        .join(", ") : ""));
  }

  // 2. content wider than its box; 3. scrolling boxes at desktop widths
  const overflowing = [];
  for (const el of elements) {
    const style = getComputedStyle(el);
    if (style.display.startsWith("inline") && style.display !== "inline-block"
        && style.display !== "inline-flex" && style.display !== "inline-grid") continue;
    if (style.display === "contents") continue;  // a box squeezed to nothing is read too
    if (el.scrollWidth <= el.clientWidth + 1) continue;
    if (visuallyHidden(el)) continue;
    const overflow = style.overflowX;
    if (overflow === "auto" || overflow === "scroll") {
      const allowed = el.tagName === "PRE" || (width < desktop && el.matches(phoneScrollers));
      if (!allowed && !scroller(el)) {
        problems.push(`${name(el)} scrolls sideways at ${width} px: its content is`
          + ` ${el.scrollWidth} px wide in a ${el.clientWidth} px box`);
      }
      continue;
    }
    if (scroller(el)) continue;
    const clipped = overflow === "hidden" || overflow === "clip";
    if (clipped && style.textOverflow === "ellipsis") continue;
    overflowing.push(el);
  }
  for (const el of overflowing) {
    if (overflowing.some((other) => other !== el && el.contains(other))) continue;
    const verb = getComputedStyle(el).overflowX === "visible" ? "spills out of" : "is cut off by";
    problems.push(`the content of ${name(el)} ${verb} its box:`
      + ` ${el.scrollWidth} px in ${el.clientWidth} px`);
  }

  // 4. labels next to their controls
  for (const label of document.querySelectorAll("label")) {
    if (!rendered(label) || visuallyHidden(label)) continue;
    if (label.htmlFor && !document.getElementById(label.htmlFor)) {
      problems.push(`the label ${name(label)} is for #${label.htmlFor}, which is not on the page`);
      continue;
    }
    const control = label.control;
    if (!control || control.type === "hidden" || !rendered(control)) continue;
    const labels = [...control.labels].filter((l) => rendered(l) && !visuallyHidden(l));
    if (labels.length > 1 && labels[0] === label) {
      problems.push(`${selector(control)} has ${labels.length} labels: `
        + labels.map((l) => quote(l)).join(", "));
    }
    const walker = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
    const rects = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim()) continue;
      if (node.parentElement.closest("select, textarea, button")) continue;
      if (visuallyHidden(node.parentElement)) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      rects.push(...[...range.getClientRects()].filter((r) => r.width > 0 && r.height > 0));
    }
    if (!rects.length) continue;
    // a picker (static/js/pickers.js) is one control: its chosen chips sit above its search box
    const box = (control.closest(".picker") || control).getBoundingClientRect();
    const nearest = rects.map((r) => ({ r, g: gap(r, box) }))
      .sort((a, b) => a.g.distance - b.g.distance)[0];
    const check = control.type === "checkbox" || control.type === "radio";
    const sameLine = Math.min(nearest.r.bottom, box.bottom) - Math.max(nearest.r.top, box.top) > 0;
    if (check && (!sameLine || nearest.g.dx > checkGap)) {
      problems.push(`the label ${name(label)} is not beside its ${control.type}`
        + ` ${selector(control)}: ${Math.round(nearest.g.dx)} px across,`
        + ` ${Math.round(nearest.g.dy)} px down`);
    } else if (!check && nearest.g.distance > labelGap) {
      problems.push(`the label ${name(label)} is ${Math.round(nearest.g.distance)} px away from`
        + ` its control ${selector(control)}`);
    }
  }

  // 5. dates, times and one-line elements do not wrap
  const DATE = /\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?|\d{2}-\d{2} \d{2}:\d{2}/g;
  const textWalker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = textWalker.nextNode(); node; node = textWalker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || !rendered(parent)) continue;
    if (parent.closest("script, style, textarea, select, pre, [hidden]")) continue;
    if (visuallyHidden(parent)) continue;
    for (const match of node.textContent.matchAll(DATE)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      if (lineCount(range.getClientRects()) > 1) {
        problems.push(`the date «${match[0]}» in ${name(parent)} breaks over two lines`);
      }
    }
  }
  for (const el of document.querySelectorAll(oneLine)) {
    if (!rendered(el) || visuallyHidden(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(el);
    if (lineCount(range.getClientRects()) > 1) problems.push(`${name(el)} breaks over two lines`);
  }

  // 6. text squeezed to a character a line ("当/前", "生/日"): a text of two or more characters
  // whose every line is about one character wide
  const squeezed = new Set();
  const squeezeWalker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = squeezeWalker.nextNode(); node; node = squeezeWalker.nextNode()) {
    const parent = node.parentElement;
    if ([...node.textContent.replace(/\s+/g, "")].length < 2) continue;
    if (!parent || squeezed.has(parent) || !rendered(parent)) continue;
    if (parent.closest("script, style, textarea, select, option, pre, [hidden]")) continue;
    if (visuallyHidden(parent)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const rects = [...range.getClientRects()].filter((r) => r.width >= 1 && r.height >= 1);
    const em = parseFloat(getComputedStyle(parent).fontSize);
    // one under the other: a short name wrapped at a line's end ("王" at the right, "丽" at the
    // next line's start) is not squeezed
    const stacked = rects.every((r) => Math.abs(r.left - rects[0].left) <= em);
    if (lineCount(rects) > 1 && stacked && rects.every((r) => r.width <= em * 1.4)) {
      squeezed.add(parent);
      problems.push(`${name(parent)} is squeezed to one character a line`
        + ` (${Math.round(parent.getBoundingClientRect().width)} px wide)`);
    }
  }
  return problems;
}
"""


def layout_problems(page) -> list[str]:
    """The faults of the page as it is shown now (see the module's rules)."""
    return page.evaluate(
        _SCRIPT,
        {
            "labelGap": LABEL_GAP,
            "checkGap": CHECK_GAP,
            "desktop": DESKTOP,
            "phoneScrollers": PHONE_SCROLLERS,
            "oneLine": ONE_LINE,
        },
    )
