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

  // "View as table" switches (analytics/table_toggle.html): hidden until this script runs, so
  // that without JavaScript the table stays visible; pressed, the table shows instead of the chart.
  function show(button, asTable) {
    var chart = document.getElementById(button.getAttribute("data-chart"));
    var table = document.getElementById(button.getAttribute("data-table"));
    if (!chart || !table) return;
    button.setAttribute("aria-pressed", asTable ? "true" : "false");
    chart.hidden = asTable;
    table.hidden = !asTable;
    if (!asTable && window.Plotly && chart.classList.contains("js-plotly-plot")) {
      window.Plotly.Plots.resize(chart); // drawn while hidden, it has no size yet
    }
  }

  function setUpToggles(root) {
    if (!window.Plotly) return; // no chart gets drawn: the tables stay as they are, visible
    root.querySelectorAll(".table-toggle[data-chart]").forEach(function (button) {
      if (button.dataset.ready) return;
      button.dataset.ready = "1";
      button.hidden = false;
      show(button, false);
      button.addEventListener("click", function () {
        show(button, button.getAttribute("aria-pressed") !== "true");
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpToggles(document);
    draw(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    setUpToggles(event.detail.elt);
    draw(event.detail.elt);
  });
})();
