// The map editor's small amount of behaviour: drag and drop (SortableJS), Escape to cancel,
// print. Everything else is htmx attributes in the page; every action also works without this.
(function () {
  "use strict";

  function post(url, values, target) {
    htmx.ajax("POST", url, { values: values, target: target, swap: "outerHTML" });
  }

  function initSortables(root) {
    if (typeof Sortable === "undefined") return;
    root.querySelectorAll(".editor.can-edit .tp-list, .can-edit .tp-list").forEach(function (list) {
      if (list.dataset.sortableReady) return;
      list.dataset.sortableReady = "1";
      Sortable.create(list, {
        group: "touchpoints",
        handle: ".drag-handle",
        draggable: ".tp-card",
        animation: 120,
        onEnd: function (event) {
          if (event.from === event.to && event.oldIndex === event.newIndex) return;
          post(event.item.dataset.moveUrl, {
            stage: event.to.dataset.stage,
            position: event.newIndex + 1,
          }, "#board");
        },
      });
    });
    root.querySelectorAll('[data-sortable-stages="1"]').forEach(function (lane) {
      if (lane.dataset.sortableReady) return;
      lane.dataset.sortableReady = "1";
      Sortable.create(lane, {
        handle: ".drag-handle",
        draggable: ".stage-head",
        animation: 120,
        onEnd: function (event) {
          if (event.oldIndex === event.newIndex) return;
          // Indexes count the lane label before the first stage.
          post(event.item.dataset.moveUrl, { position: event.newDraggableIndex + 1 }, "#board");
        },
      });
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var form = event.target.closest && event.target.closest("form.editing");
    var cancel = form && form.querySelector("[data-cancel]");
    if (cancel) {
      event.preventDefault();
      cancel.click();
    }
  });

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest && event.target.closest("[data-print]");
    if (trigger) {
      event.preventDefault();
      window.print();
    }
  });

  // A form that opens in place takes the focus, so typing can start at once.
  function focusOpenedForm(root) {
    if (!root || !root.querySelector || root === document.body) return;
    var form = root.matches && root.matches("form.editing") ? root : root.querySelector("form.editing");
    var field = form && form.querySelector("input:not([type=hidden]), textarea, select");
    if (field) field.focus();
  }

  // Requests htmx does not swap (403, 404, 500, network down) still tell the person what happened.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var text = status === 403 ? "You are not allowed to change this map." :
      status === 404 ? "This no longer exists; reload the page to see the current map." :
      "The change could not be saved (error " + status + "). Reload the page and try again.";
    showNotice(text);
  });
  document.addEventListener("htmx:sendError", function () {
    showNotice("The server could not be reached; your change was not saved.");
  });

  function showNotice(text) {
    var notice = document.getElementById("editor-notice");
    if (!notice) {
      notice = document.createElement("p");
      notice.id = "editor-notice";
      notice.className = "message error notice";
      notice.setAttribute("role", "alert");
      document.body.appendChild(notice);
    }
    notice.textContent = text;
  }

  document.addEventListener("htmx:load", function (event) {
    initSortables(event.detail.elt);
    focusOpenedForm(event.detail.elt);
  });
  document.addEventListener("DOMContentLoaded", function () { initSortables(document); });
})();
