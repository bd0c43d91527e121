/* The place browser's map: draws the chosen place's outline and its children's boundaries
 * from /api/v1/places/<id>/geojson (same-origin, the page session), one colour per child,
 * labelled, each clickable through to that place. Tiles only when the server configures
 * a tile URL; otherwise a plain background, so it works offline. */
(function () {
  "use strict";

  var PALETTE = [
    "#1f6fd1", "#e8590c", "#2f9e44", "#ae3ec9", "#d6336c", "#0c8599",
    "#f08c00", "#5c7cfa", "#66a80f", "#c92a2a", "#1098ad", "#7950f2"
  ];
  var NEUTRAL = "#475569";
  var OUTLINE = "#0b3a75";
  // With more children than this, labels appear on hover only, so they never pile up.
  var MAX_PERMANENT_LABELS = 16;

  function note(el, text) {
    var box = el.querySelector(".wg-map-message");
    if (!box) {
      box = document.createElement("div");
      box.className = "wg-map-message";
      box.setAttribute("role", "status");
      el.appendChild(box);
    }
    box.textContent = text || "";
    box.hidden = !text;
  }

  function label(text) {
    var span = document.createElement("span");
    span.textContent = text; // never innerHTML: names are user data
    return span;
  }

  function detailUrl(el, id) {
    return (el.getAttribute("data-detail-url") || "/places/0/").replace(/\/0\/$/, "/" + id + "/");
  }

  function draw(el, map, collection) {
    var shownId = Number(el.getAttribute("data-shown-id"));
    var own = [];
    var children = [];
    var deeper = [];
    (collection.features || []).forEach(function (feature) {
      var props = feature.properties || {};
      if (props.id === shownId) own.push(feature);
      else if (props.parent_id === shownId) children.push(feature);
      else deeper.push(feature);
    });
    var bounds = L.latLngBounds([]);

    if (own.length) {
      var outline = L.geoJSON(own, {
        interactive: false,
        style: function (feature) {
          return {
            className: "wg-place wg-place-outline wg-place-self wg-place-" + feature.properties.kind,
            color: OUTLINE,
            weight: 3,
            dashArray: children.length ? "6 5" : null,
            fillColor: OUTLINE,
            fillOpacity: children.length ? 0.03 : 0.12
          };
        }
      }).addTo(map);
      bounds.extend(outline.getBounds());
    }

    var permanent = children.length <= MAX_PERMANENT_LABELS;
    var colourOf = {};
    children.forEach(function (feature, index) {
      colourOf[feature.properties.id] = PALETTE[index % PALETTE.length];
    });

    function addLayer(features, isChild) {
      if (!features.length) return;
      var layer = L.geoJSON(features, {
        style: function (feature) {
          var colour = isChild ? colourOf[feature.properties.id] : NEUTRAL;
          return {
            className: "wg-place wg-place-" + feature.properties.kind + (isChild ? " wg-place-child" : ""),
            color: colour,
            weight: isChild ? 2 : 1,
            fillColor: colour,
            fillOpacity: isChild ? 0.28 : 0.35
          };
        },
        onEachFeature: function (feature, path) {
          var props = feature.properties;
          path.bindTooltip(label(props.name), {
            permanent: isChild && permanent,
            direction: "center",
            className: "wg-map-label" + (isChild ? "" : " wg-map-label--small"),
            opacity: 0.95
          });
          path.on("click", function () {
            window.location.href = detailUrl(el, props.id);
          });
          path.on("mouseover", function () {
            path.setStyle({ weight: isChild ? 4 : 2, fillOpacity: 0.5 });
          });
          path.on("mouseout", function () {
            layer.resetStyle(path);
          });
        }
      }).addTo(map);
      bounds.extend(layer.getBounds());
    }
    addLayer(children, true);
    addLayer(deeper, false);

    el.setAttribute("data-feature-count", String(children.length + deeper.length + own.length));
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [18, 18] });
      note(el, "");
    } else {
      note(el, el.getAttribute("data-msg-empty"));
    }
    el.setAttribute("data-ready", "true");
  }

  function init(el) {
    if (!window.L) {
      note(el, el.getAttribute("data-msg-error"));
      return;
    }
    var tileUrl = el.getAttribute("data-tile-url");
    var map = L.map(el, {
      zoomSnap: 0.25,
      attributionControl: Boolean(tileUrl),
      scrollWheelZoom: true
    }).setView([35.0, 105.0], 4);
    if (tileUrl) {
      L.tileLayer(tileUrl, { attribution: el.getAttribute("data-tile-attribution") || "", maxZoom: 19 }).addTo(map);
    } else {
      el.classList.add("wg-map--plain");
    }
    var url = el.getAttribute("data-geojson-url");
    if (!url) {
      note(el, el.getAttribute("data-msg-empty"));
      el.setAttribute("data-ready", "true");
      return;
    }
    note(el, el.getAttribute("data-msg-loading"));
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (collection) {
        draw(el, map, collection);
      })
      .catch(function () {
        note(el, el.getAttribute("data-msg-error"));
        el.setAttribute("data-ready", "error");
      });
    // The map may be laid out after the script runs (fonts, folded panels).
    window.addEventListener("load", function () {
      map.invalidateSize();
    });
  }

  function start() {
    var el = document.getElementById("wg-map");
    if (el) init(el);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
