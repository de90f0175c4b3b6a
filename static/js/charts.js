// Plotly charts built by analytics/charts.py: each [data-plotly] element names the JSON block
// holding its figure, drawn here with the locally served plotly.min.js (no inline script: CSP).
(function () {
  "use strict";

  function draw(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-plotly]").forEach(function (element) {
      var block = document.getElementById(element.getAttribute("data-plotly"));
      if (!block) return;
      var figure = JSON.parse(block.textContent);
      window.Plotly.react(element, figure.data || [], figure.layout || {}, {
        responsive: true,
        displaylogo: false,
        displayModeBar: false, // its styles are injected inline, which the CSP blocks
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.detail.elt); });
})();
