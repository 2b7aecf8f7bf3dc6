/* Draws every figure of a report page: a <div data-chart="ID"> gets the plotly figure that the
   server embedded as JSON in <script id="ID" type="application/json"> (Django's json_script). */
(function () {
  "use strict";

  function draw() {
    if (typeof window.Plotly === "undefined") {
      throw new Error("plotly.js did not load");
    }
    var slots = document.querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(slots, function (slot) {
      var source = document.getElementById(slot.getAttribute("data-chart"));
      if (!source) {
        return;
      }
      var figure = JSON.parse(source.textContent);
      var config = { displaylogo: false, responsive: true };
      window.Plotly.newPlot(slot, figure.data, figure.layout, config).then(function () {
        slot.setAttribute("data-rendered", "true");
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
