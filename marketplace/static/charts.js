// Draws every <canvas data-chart="{...}"> with Chart.js (served from /static/vendor).
// The data sits in the attribute as JSON, so the page needs no inline script (CSP).
(function () {
  "use strict";
  var palette = ["#0d6efd", "#198754", "#ffc107", "#dc3545", "#6f42c1", "#20c997",
                 "#fd7e14", "#6c757d", "#0dcaf0", "#d63384", "#6610f2", "#adb5bd", "#343a40"];
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = JSON.parse(canvas.getAttribute("data-chart"));
    var pie = spec.type === "doughnut" || spec.type === "pie";
    spec.datasets.forEach(function (dataset, i) {
      dataset.backgroundColor = pie ? palette : palette[i % palette.length];
      dataset.borderColor = pie ? "#fff" : palette[i % palette.length];
    });
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: spec.datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { position: pie ? "right" : "top" } },
        scales: pie ? {} : { y: { beginAtZero: true, ticks: { precision: 0 } } }
      }
    });
  });
}());
