/* wangge request metrics: the charts of the metrics page (ECharts), drawn from the data embedded
 * in the page, and drawn again when htmx swaps in new figures after a filter change.
 * Plain ES5-level JavaScript for old phone browsers. */
(function () {
  "use strict";

  var CHANNEL_COLOURS = {
    web: "#1f6fd1",
    patrol: "#2f9e44",
    hotline: "#c8102e",
    co_building: "#f08c00",
    device: "#7950f2",
    open311: "#0c8599",
    walk_in: "#868e96"
  };
  var charts = [];

  function readJSON(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    try {
      return JSON.parse(el.textContent);
    } catch (e) {
      return null;
    }
  }

  function narrow() {
    return window.matchMedia && window.matchMedia("(max-width: 767px)").matches;
  }

  function base() {
    return { textStyle: { fontFamily: getComputedStyle(document.body).fontFamily }, animationDuration: 400 };
  }

  function merge(a, b) {
    for (var k in b) if (Object.prototype.hasOwnProperty.call(b, k)) a[k] = b[k];
    return a;
  }

  function daily(data, labels) {
    return merge(base(), {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
      xAxis: {
        type: "category",
        boundaryGap: false,
        data: data.daily.map(function (d) {
          return d.day.slice(5);
        }),
        axisLabel: { fontSize: 11, hideOverlap: true }
      },
      yAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef1f4" } } },
      series: [
        {
          name: labels.received,
          type: "line",
          symbolSize: 5,
          itemStyle: { color: "#1f6fd1" },
          data: data.daily.map(function (d) {
            return d.received;
          })
        },
        {
          name: labels.resolved,
          type: "line",
          symbolSize: 5,
          itemStyle: { color: "#2f9e44" },
          data: data.daily.map(function (d) {
            return d.resolved;
          })
        }
      ]
    });
  }

  function category(data, labels) {
    var rows = data.by_category.slice().reverse();
    return merge(base(), {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 8, right: 36, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef1f4" } }, axisLabel: { fontSize: 11 } },
      yAxis: {
        type: "category",
        axisTick: { show: false },
        axisLabel: { fontSize: 12 },
        data: rows.map(function (r) {
          return r.label;
        })
      },
      series: [
        {
          name: labels.cases,
          type: "bar",
          barMaxWidth: 22,
          label: { show: true, position: "right", fontSize: 11 },
          itemStyle: { color: "#1f6fd1", borderRadius: [0, 4, 4, 0] },
          data: rows.map(function (r) {
            return r.count;
          })
        }
      ]
    });
  }

  function channel(data, labels) {
    var rows = data.by_channel.map(function (r) {
      return { name: r.label, value: r.count, itemStyle: { color: CHANNEL_COLOURS[r.key] } };
    });
    return merge(base(), {
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      legend: { bottom: 0, itemWidth: 12, itemHeight: 12 },
      series: [
        {
          name: labels.cases,
          type: "pie",
          radius: ["38%", "64%"],
          center: ["50%", "44%"],
          label: { show: !narrow(), formatter: "{b}\n{c}", fontSize: 12 },
          data: rows
        }
      ]
    });
  }

  var BUILDERS = { daily: daily, category: category, channel: channel };

  function draw() {
    for (var j = 0; j < charts.length; j++) charts[j].dispose();
    charts = [];
    var data = readJSON("wg-metrics-data");
    var labels = readJSON("wg-metrics-labels") || {};
    if (!data || !window.echarts) return;
    var boxes = document.querySelectorAll("[data-chart]");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var build = BUILDERS[box.getAttribute("data-chart")];
      if (!build) continue;
      var chart = window.echarts.init(box, null, { renderer: "canvas" });
      chart.setOption(build(data, labels));
      charts.push(chart);
      box.setAttribute("data-ready", "true");
    }
    document.documentElement.setAttribute("data-charts-ready", String(charts.length));
  }

  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) clearTimeout(pending);
    pending = setTimeout(function () {
      for (var j = 0; j < charts.length; j++) charts[j].resize();
    }, 120);
  });

  // New figures after a filter change: the swapped-in fragment carries its own data.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "wg-metrics") draw();
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
