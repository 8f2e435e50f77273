/* The queue page (desk.admin.queue): a selected row moved by j/k, opened by Enter/o, claimed by c, and an htmx
   poll that refreshes the tabs' counts and the rows without losing the agent's place.

   The selected row is remembered by its ticket id (per list URL, in sessionStorage), so it survives a refresh of
   the rows and a reload after a claim. A refresh keeps the scroll position; while rows are ticked for a bulk
   action the rows are not replaced (only the counts), so a selection in progress is never lost. A hidden tab
   does not poll.
*/
(function () {
  "use strict";
  const STORE = "kefu-queue-selected:" + location.pathname + location.search;

  function rows() {
    return Array.from(document.querySelectorAll("#result_list tbody tr")).filter((tr) =>
      tr.querySelector(".kefu-row")
    );
  }

  function idOf(tr) {
    const marker = tr && tr.querySelector(".kefu-row");
    return marker ? marker.dataset.ticketId : null;
  }

  function selectedRow() {
    return document.querySelector("#result_list tbody tr.kefu-selected");
  }

  function updateClaim(tr) {
    const form = document.getElementById("kefu-queue-claim");
    if (!form) return;
    const button = form.querySelector("button");
    const marker = tr && tr.querySelector(".kefu-row");
    if (!marker) {
      button.disabled = true;
      return;
    }
    // "/admin/tickets/ticket/0/queue-claim/" with the row's id in place of the 0.
    form.action = form.dataset.url.replace(/\/0\/queue-claim\/$/, "/" + marker.dataset.ticketId + "/queue-claim/");
    form.querySelector("input[name=version]").value = marker.dataset.version;
    button.disabled = false;
  }

  function select(tr, scroll) {
    for (const other of document.querySelectorAll("#result_list tbody tr.kefu-selected")) {
      other.classList.remove("kefu-selected");
      other.removeAttribute("aria-selected");
    }
    if (!tr) {
      updateClaim(null);
      return;
    }
    tr.classList.add("kefu-selected");
    tr.setAttribute("aria-selected", "true");
    try {
      sessionStorage.setItem(STORE, idOf(tr));
    } catch (e) {
      /* storage off: the selection just does not survive a reload */
    }
    updateClaim(tr);
    if (scroll) tr.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const current = all.indexOf(selectedRow());
    const next = current < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, current + step));
    select(all[next], true);
  }

  function openSelected() {
    const tr = selectedRow();
    const link = tr && tr.querySelector("th a, td a");
    if (link) link.click();
  }

  function restore() {
    let id = null;
    try {
      id = sessionStorage.getItem(STORE);
    } catch (e) {
      id = null;
    }
    const all = rows();
    const found = id ? all.find((tr) => idOf(tr) === id) : null;
    select(found || null, false);
  }

  function anyTicked() {
    return !!document.querySelector("#result_list tbody input.action-select:checked");
  }

  function wire() {
    const down = document.getElementById("kefu-queue-down");
    if (!down) return;
    down.addEventListener("click", () => move(1));
    document.getElementById("kefu-queue-up").addEventListener("click", () => move(-1));
    document.getElementById("kefu-queue-open").addEventListener("click", openSelected);
    // A click on a row (not on its link or checkbox) selects it too.
    document.addEventListener("click", (event) => {
      const tr = event.target instanceof Element && event.target.closest("#result_list tbody tr");
      if (tr && !event.target.closest("a, input, button")) select(tr, false);
    });
    restore();

    let scrollY = 0;
    // A queue left open in a background tab does not poll; it catches up on the next tick once shown again.
    document.body.addEventListener("htmx:beforeRequest", (event) => {
      if (document.hidden && event.detail.elt && event.detail.elt.id === "kefu-queue-poll") event.preventDefault();
    });
    document.body.addEventListener("htmx:oobBeforeSwap", (event) => {
      const target = event.detail.target;
      if (!target) return;
      if ((target.id === "kefu-queue-rows" || target.id === "kefu-queue-pages") && anyTicked()) {
        event.detail.shouldSwap = false; // ticked rows wait for their bulk action; the counts still refresh
        return;
      }
      scrollY = window.scrollY;
    });
    document.body.addEventListener("htmx:oobAfterSwap", (event) => {
      const target = event.detail.target;
      if (!target || target.id !== "kefu-queue-rows" || !event.detail.shouldSwap) return;
      const table = document.getElementById("result_list");
      if (!table || table.dataset.kefuBound) return; // the event comes once per swapped element
      table.dataset.kefuBound = "1";
      restore();
      window.scrollTo(window.scrollX, scrollY);
      // Django's actions.js bound the old checkboxes; bind the new ones (counter, select all, shift-click).
      const boxes = document.querySelectorAll("tr input.action-select");
      if (boxes.length && typeof window.Actions === "function") window.Actions(boxes);
    });
  }

  if (document.readyState !== "loading") wire();
  else document.addEventListener("DOMContentLoaded", wire);
})();
