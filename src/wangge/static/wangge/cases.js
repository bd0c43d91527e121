/* wangge requests: live countdowns to deadlines, sharing the location on report forms, the
 * channel-dependent fields of the staff intake form. Plain ES5-level JavaScript; the pages
 * work without it (the server renders every countdown and every field). */
(function () {
  "use strict";

  var MINUTE = 60 * 1000;

  function words() {
    var el = document.getElementById("wg-cd-words");
    return el ? el.dataset : null;
  }

  function fill(template, key, value) {
    return String(template || "").replace("%(" + key + ")s", value).replace("%(" + key + ")d", value);
  }

  function duration(ms, w) {
    var minutes = Math.max(0, Math.floor(ms / MINUTE));
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    var parts = [];
    if (days) parts.push(fill(w.d, "n", days));
    if (hours && parts.length < 2) parts.push(fill(w.h, "n", hours));
    if ((mins || !parts.length) && parts.length < 2 && !days) parts.push(fill(w.min, "n", mins));
    return parts.join(" ");
  }

  function tick() {
    var w = words();
    if (!w) return;
    var now = Date.now();
    var items = document.querySelectorAll(".wg-cd[data-due]");
    for (var i = 0; i < items.length; i++) {
      var el = items[i];
      var due = Date.parse(el.getAttribute("data-due"));
      var warn = Date.parse(el.getAttribute("data-warn"));
      if (isNaN(due)) continue;
      var level = el.getAttribute("data-level");
      // The server knows better when the sweep marked it overdue: never go back from red.
      if (level !== "over") {
        if (now > due) level = "over";
        else if (!isNaN(warn) && now >= warn) level = "warn";
      }
      el.textContent = level === "over" ? fill(w.over, "time", duration(now - due, w)) : fill(w.left, "time", duration(due - now, w));
      el.className = "wg-cd wg-cd--" + level;
      el.setAttribute("data-level", level);
    }
  }

  function locate(button) {
    var w = words() || {};
    var form = button.form || document;
    var status = form.querySelector("[data-locate-status]");
    var lat = form.querySelector("input[name=lat]");
    var lng = form.querySelector("input[name=lng]");
    if (!navigator.geolocation || !lat || !lng) {
      if (status) status.textContent = w.locateFailed || "";
      return;
    }
    if (status) status.textContent = w.locating || "";
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        lat.value = pos.coords.latitude.toFixed(6);
        lng.value = pos.coords.longitude.toFixed(6);
        button.disabled = false;
        if (status) status.textContent = w.located || "";
        document.body.dispatchEvent(new CustomEvent("wglocated", { bubbles: true }));
      },
      function () {
        button.disabled = false;
        if (status) status.textContent = w.locateFailed || "";
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  }

  function showChannelFields(form) {
    var checked = form.querySelector("input[name=channel]:checked");
    var channel = checked ? checked.value : "";
    var blocks = form.querySelectorAll("[data-show-for]");
    for (var i = 0; i < blocks.length; i++) {
      var wanted = blocks[i].getAttribute("data-show-for").split(" ");
      blocks[i].hidden = wanted.indexOf(channel) < 0;
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var button = target && target.closest ? target.closest("[data-locate]") : null;
    if (button) {
      event.preventDefault();
      locate(button);
    }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.name === "channel") {
      var form = target.closest("form[data-intake]");
      if (form) showChannelFields(form);
    }
  });

  function onReady() {
    var forms = document.querySelectorAll("form[data-intake]");
    for (var i = 0; i < forms.length; i++) showChannelFields(forms[i]);
    tick();
    window.setInterval(tick, 30 * 1000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", onReady);
  else onReady();
})();
