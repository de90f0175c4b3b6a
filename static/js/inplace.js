// In-place editing with htmx: a region marked [data-inplace] swaps between its read view and its
// form. Refused saves (422 invalid, 409 stale) are swapped in too, by the htmx-config in base.html.
// This file only listens to document events, so it works whatever order the scripts load in.
(function () {
  "use strict";

  // Escape in an open form is Cancel.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !(event.target instanceof Element)) return;
    var form = event.target.closest("form[data-inplace-form]");
    var cancel = form && form.querySelector("[data-inplace-cancel]");
    if (cancel) {
      event.preventDefault();
      cancel.click();
    }
  });

  // Back in the read view after Save or Cancel, keyboard focus returns to the region's Edit link
  // (an open form focuses its first field itself, through autofocus).
  document.addEventListener("htmx:afterSettle", function (event) {
    var region = event.detail.elt;
    if (!(region instanceof Element) || !region.matches("[data-inplace]")) return;
    if (region.querySelector("form[data-inplace-form]")) return;
    if (document.activeElement && document.activeElement !== document.body) return;
    var edit = region.querySelector("[data-inplace-edit]");
    if (edit) edit.focus();
  });
})();
