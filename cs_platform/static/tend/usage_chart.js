// The Account 360's usage chart: daily active users and events from the
// #usage-series JSON (Django's json_script). Without Chart.js or JavaScript the
// table under "Show the numbers" carries the same data.
(function () {
  "use strict";

  function label(isoDay) {
    // The days are UTC days: format them as such, or they shift west of Greenwich.
    return new Date(isoDay + "T00:00:00Z").toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
  }

  function draw() {
    var canvas = document.getElementById("usage-chart");
    var data = document.getElementById("usage-series");
    if (!canvas || !data || !window.Chart) return;
    var series = JSON.parse(data.textContent);
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: series.map(function (d) { return label(d.day); }),
        datasets: [
          {
            label: "Active users", data: series.map(function (d) { return d.active_users; }),
            yAxisID: "users", borderColor: "#2f7d6d", backgroundColor: "rgba(47,125,109,0.12)",
            fill: true, pointRadius: 0, tension: 0.25,
          },
          {
            label: "Events", data: series.map(function (d) { return d.events; }),
            yAxisID: "events", borderColor: "#4a7fc1", backgroundColor: "#4a7fc1",
            pointRadius: 0, tension: 0.25, borderDash: [4, 3],
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { ticks: { maxTicksLimit: 8, autoSkip: true } },
          // Two axes: a few dozen people can send tens of thousands of events.
          users: { type: "linear", position: "left", beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Active users" } },
          events: { type: "linear", position: "right", beginAtZero: true, ticks: { precision: 0 }, grid: { drawOnChartArea: false }, title: { display: true, text: "Events" } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
