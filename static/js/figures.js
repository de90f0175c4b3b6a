// The map's figures: after any change saved in place, ask whether they are being recomputed (the
// status element then polls every 2 s until the new figures are in, and swaps them in).
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  document.addEventListener("htmx:afterRequest", function (event) {
    var config = event.detail.requestConfig;
    var xhr = event.detail.xhr;
    if (!config || !xhr || config.verb === "get") return;
    if (xhr.status < 200 || xhr.status >= 400) return;
    var element = event.detail.elt;
    if (element && element.closest && element.closest("[data-rule-builder]")) return; // a preview
    document.body.dispatchEvent(new CustomEvent("jm:map-changed"));
  });
})();
