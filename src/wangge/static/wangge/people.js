/* wangge registry pages: pickers that submit on change, and the population charts (ECharts).
 * Plain ES5-level JavaScript for old phone browsers. The data is embedded in the page. */
(function () {
  "use strict";

  var USE_COLOURS = {
    owner_occupied: "#2f9e44",
    rented: "#f08c00",
    vacant: "#adb5bd",
    commercial: "#1c7ed6",
    other: "#7950f2"
  };
  var REG_COLOURS = { registered: "#0b3a75", resident: "#1f6fd1", floating: "#f08c00" };
  var MALE = "#1f6fd1";
  var FEMALE = "#e64980";
  var FONT = getComputedStyle(document.body).fontFamily;

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
    return { textStyle: { fontFamily: FONT }, animationDuration: 400 };
  }

  function merge(a, b) {
    for (var k in b) if (Object.prototype.hasOwnProperty.call(b, k)) a[k] = b[k];
    return a;
  }

  // A pie's legend names each slice with its count, so the slices need no labels on a phone.
  function pieLegend(rows) {
    var counts = {};
    for (var i = 0; i < rows.length; i++) counts[rows[i].name] = rows[i].value;
    return {
      bottom: 0,
      itemWidth: 12,
      itemHeight: 12,
      formatter: function (name) {
        return name + " " + counts[name];
      }
    };
  }

  function registration(data) {
    var rows = data.registration.map(function (r) {
      return { name: r.label, value: r.count, itemStyle: { color: REG_COLOURS[r.key] } };
    });
    return merge(base(), {
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      legend: pieLegend(rows),
      series: [
        {
          type: "pie",
          radius: ["38%", "66%"],
          center: ["50%", "45%"],
          label: { show: !narrow(), formatter: "{b}\n{c}", fontSize: 12 },
          data: rows
        }
      ]
    });
  }

  function pyramid(data, labels) {
    var p = { bands: data.age_bands, male: data.age_pyramid.male, female: data.age_pyramid.female };
    var abs = function (v) {
      return Math.abs(typeof v === "object" ? v.value : v);
    };
    return merge(base(), {
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: function (items) {
          var lines = [items[0].axisValue];
          for (var i = 0; i < items.length; i++) lines.push(items[i].marker + items[i].seriesName + ": " + abs(items[i].value));
          return lines.join("<br>");
        }
      },
      legend: { top: 0, data: [labels.male, labels.female] },
      grid: { left: 8, right: 12, top: 30, bottom: 8, containLabel: true },
      xAxis: { type: "value", axisLabel: { formatter: abs, fontSize: 11 }, splitLine: { lineStyle: { color: "#eef1f4" } } },
      yAxis: { type: "category", data: p.bands, axisTick: { show: false }, axisLabel: { fontSize: 11 } },
      series: [
        {
          name: labels.male,
          type: "bar",
          stack: "age",
          barCategoryGap: "15%",
          itemStyle: { color: MALE },
          data: p.male.map(function (v) {
            return -v;
          })
        },
        { name: labels.female, type: "bar", stack: "age", itemStyle: { color: FEMALE }, data: p.female }
      ]
    });
  }

  function care(data, labels) {
    var rows = data.care_groups.slice().reverse();
    return merge(base(), {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 8, right: 36, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef1f4" } }, axisLabel: { fontSize: 11 } },
      yAxis: {
        type: "category",
        data: rows.map(function (r) {
          return r.name;
        }),
        axisTick: { show: false },
        axisLabel: { fontSize: 12 }
      },
      series: [
        {
          name: labels.residents,
          type: "bar",
          barMaxWidth: 22,
          label: { show: true, position: "right", fontSize: 11 },
          itemStyle: { color: "#0c8599", borderRadius: [0, 4, 4, 0] },
          data: rows.map(function (r) {
            return r.count;
          })
        }
      ]
    });
  }

  function houses(data, labels) {
    var vacancy = (data.vacancy_rate * 100).toFixed(1);
    var rows = data.houses_by_use
      .filter(function (h) {
        return h.count > 0;
      })
      .map(function (h) {
        return { name: h.label, value: h.count, itemStyle: { color: USE_COLOURS[h.key] } };
      });
    return merge(base(), {
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      legend: pieLegend(rows),
      title: {
        text: vacancy + "%",
        subtext: labels.vacancy,
        left: "center",
        top: "34%",
        textStyle: { fontSize: 20, fontWeight: 700, color: "#495057" },
        subtextStyle: { fontSize: 12, color: "#6b7685" },
        itemGap: 2
      },
      series: [
        {
          name: labels.houses,
          type: "pie",
          radius: ["42%", "66%"],
          center: ["50%", "45%"],
          label: { show: !narrow(), formatter: "{b}\n{c}", fontSize: 12 },
          data: rows
        }
      ]
    });
  }

  function movement(data, labels) {
    return merge(base(), {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
      xAxis: {
        type: "category",
        data: data.months.map(function (s) {
          return s.slice(2);
        }),
        boundaryGap: false,
        axisLabel: { fontSize: 11, hideOverlap: true }
      },
      yAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef1f4" } } },
      series: [
        { name: labels.moved_in, type: "line", symbolSize: 6, itemStyle: { color: "#2f9e44" }, data: data.moves_in },
        { name: labels.moved_out, type: "line", symbolSize: 6, itemStyle: { color: "#c92a2a" }, data: data.moves_out }
      ]
    });
  }

  var BUILDERS = { registration: registration, pyramid: pyramid, care: care, houses: houses, movement: movement };

  function drawCharts() {
    var data = readJSON("wg-stats-data");
    var labels = readJSON("wg-stats-labels") || {};
    if (!data || !window.echarts) return;
    var charts = [];
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
    var pending = null;
    window.addEventListener("resize", function () {
      if (pending) clearTimeout(pending);
      pending = setTimeout(function () {
        for (var j = 0; j < charts.length; j++) charts[j].resize();
      }, 120);
    });
    document.documentElement.setAttribute("data-charts-ready", String(charts.length));
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.hasAttribute && target.hasAttribute("data-autosubmit") && target.form) target.form.submit();
  });

  // A refused reveal (403) or a missing value (404) answers with a short note: show it in place.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var source = event.detail && event.detail.requestConfig && event.detail.requestConfig.elt;
    var status = event.detail && event.detail.xhr && event.detail.xhr.status;
    if (source && source.classList && source.classList.contains("wg-reveal-form") && status >= 400 && status < 500) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawCharts);
  else drawCharts();
})();
