/* Keyboard shortcuts of the kefu admin, declared in the page's HTML (docs/desk.md, "Working the queue").

   <a href="…" data-shortcut="c" data-shortcut-label="认领">…</a>

   Pressing a key clicks the first element whose data-shortcut lists it (several keys: data-shortcut="j n"),
   or focuses it when it is a field; data-shortcut-focus="ID" focuses the element with that id instead.
   Disabled elements are skipped. Keys do nothing while the user types in a field (Esc leaves the field) or
   holds Ctrl, Alt or Meta, so the browser's own shortcuts stay. "?" shows every shortcut of the page with its
   label in a dialog (#kefu-shortcuts); Esc closes it. On a ticket's page the script adds j/n and k/p: the next
   and previous ticket in the queue view the agent came from (URLs and labels from its <script> tag's data-).
*/
(function () {
  "use strict";
  const script = document.currentScript || document.getElementById("kefu-shortcuts-script");
  const config = script ? script.dataset : {};

  function isTyping(target) {
    if (!target || !(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    const tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    const type = (target.getAttribute("type") || "text").toLowerCase();
    return !["checkbox", "radio", "button", "submit", "reset", "image", "file", "range", "color"].includes(type);
  }

  function keysOf(el) {
    return (el.dataset.shortcut || "").split(/\s+/).filter(Boolean);
  }

  function shortcutElements() {
    return Array.from(document.querySelectorAll("[data-shortcut]")).filter(
      (el) => !el.closest("#kefu-shortcuts")
    );
  }

  function findFor(key) {
    return shortcutElements().find((el) => keysOf(el).includes(key) && !el.disabled);
  }

  function keyLabel(key) {
    return key === " " ? "Space" : key;
  }

  // -- the help dialog ------------------------------------------------------------------------------------
  function helpRows() {
    const seen = new Set();
    const rows = [];
    for (const el of shortcutElements()) {
      const keys = keysOf(el);
      const label = el.dataset.shortcutLabel || el.getAttribute("aria-label") || el.textContent.trim();
      const id = keys.join(" ") + "\u0000" + label;
      if (!keys.length || seen.has(id)) continue;
      seen.add(id);
      rows.push({ keys, label, disabled: !!el.disabled });
    }
    rows.push({ keys: ["?"], label: config.helpLabel || "Show or hide this list", disabled: false });
    return rows;
  }

  function overlay() {
    return document.getElementById("kefu-shortcuts");
  }

  function closeHelp() {
    const dialog = overlay();
    if (dialog) dialog.remove();
  }

  function openHelp() {
    closeHelp();
    const dialog = document.createElement("div");
    dialog.id = "kefu-shortcuts";
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-labelledby", "kefu-shortcuts-title");
    const box = document.createElement("div");
    box.className = "kefu-shortcuts-box";
    const title = document.createElement("h2");
    title.id = "kefu-shortcuts-title";
    title.textContent = config.title || "Keyboard shortcuts";
    box.appendChild(title);
    const table = document.createElement("table");
    for (const row of helpRows()) {
      const tr = document.createElement("tr");
      if (row.disabled) tr.className = "kefu-shortcut-disabled";
      const keys = document.createElement("td");
      row.keys.forEach((key, i) => {
        if (i) keys.appendChild(document.createTextNode(" / "));
        const kbd = document.createElement("kbd");
        kbd.textContent = keyLabel(key);
        keys.appendChild(kbd);
      });
      const label = document.createElement("td");
      label.textContent = row.label;
      tr.append(keys, label);
      table.appendChild(tr);
    }
    box.appendChild(table);
    if (config.hint) {
      const hint = document.createElement("p");
      hint.className = "kefu-shortcuts-hint";
      hint.textContent = config.hint;
      box.appendChild(hint);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "button";
    close.textContent = config.closeLabel || "Close";
    close.addEventListener("click", closeHelp);
    box.appendChild(close);
    dialog.appendChild(box);
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) closeHelp();
    });
    document.body.appendChild(dialog);
    close.focus();
  }

  // -- the ticket page: next / previous in the view the agent came from -------------------------------------
  function addTicketMoves() {
    const moves = [
      [config.nextUrl, "j n", config.nextLabel],
      [config.previousUrl, "k p", config.previousLabel],
    ];
    for (const [url, keys, label] of moves) {
      if (!url) continue;
      const link = document.createElement("a");
      link.href = url;
      link.hidden = true;
      link.className = "kefu-ticket-move";
      link.dataset.shortcut = keys;
      link.dataset.shortcutLabel = label || keys;
      document.body.appendChild(link);
    }
  }

  // -- keys ------------------------------------------------------------------------------------------------
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return;
    const key = event.key;
    if (key === "Escape") {
      if (overlay()) {
        closeHelp();
        event.preventDefault();
      } else if (isTyping(event.target)) {
        event.target.blur();
      }
      return;
    }
    if (isTyping(event.target)) return;
    if (key === "?") {
      overlay() ? closeHelp() : openHelp();
      event.preventDefault();
      return;
    }
    if (overlay()) return; // the dialog is modal: Esc or "?" first
    // Enter on a focused link or button is the browser's: it follows or presses that one.
    if (key === "Enter" && event.target instanceof Element && event.target.closest("a, button, summary")) return;
    const el = findFor(key);
    if (!el) return;
    event.preventDefault();
    const focusId = el.dataset.shortcutFocus;
    const target = focusId ? document.getElementById(focusId) : el;
    if (!target) return;
    if (isTyping(target)) {
      target.focus();
      if (typeof target.select === "function") target.select();
    } else {
      target.click();
    }
  });

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }
  ready(addTicketMoves);
  window.kefuShortcuts = { open: openHelp, close: closeHelp };
})();
