// Small SVG charts for the dashboard overview: no libraries, no network.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = { GREEN: "#2e8b57", YELLOW: "#d9a300", RED: "#c0392b",
    "Manifest": "#1f5fa8", "Transit": "#8e44ad", "e-CO": "#16a085", "AEO": "#2e8b57", "non-AEO": "#7f8c8d" };
  var PALETTE = ["#1f5fa8", "#8e44ad", "#16a085", "#d35400", "#7f8c8d"];

  function el(name, attrs, text) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // groups: [{label, parts: [{key, value}]}]; stacked bars with a legend.
  function stacked(target, groups, keys, opts) {
    opts = opts || {};
    var width = 560, height = 240, left = 40, bottom = 30, top = 24;
    var svg = el("svg", { viewBox: "0 0 " + width + " " + height, role: "img" });
    var max = 0;
    groups.forEach(function (g) {
      var sum = g.parts.reduce(function (a, p) { return a + p.value; }, 0);
      max = Math.max(max, sum);
    });
    if (opts.max) max = opts.max;
    else max = Math.max(4, Math.ceil(max / 4) * 4); // whole-number ticks
    var plotH = height - bottom - top, plotW = width - left - 10;
    var band = plotW / Math.max(groups.length, 1), barW = Math.min(60, band * 0.6);
    for (var i = 0; i <= 4; i++) {
      var y = top + plotH - (plotH * i) / 4;
      svg.appendChild(el("line", { x1: left, x2: width - 10, y1: y, y2: y, stroke: "#e5e9ee" }));
      var tick = opts.percent ? Math.round((max * i * 100) / 4) + "%" : Math.round((max * i) / 4);
      svg.appendChild(el("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, String(tick)));
    }
    groups.forEach(function (g, gi) {
      var x = left + gi * band + (band - barW) / 2, y = top + plotH;
      g.parts.forEach(function (p, pi) {
        if (!p.value) return;
        var h = (plotH * p.value) / max;
        y -= h;
        var rect = el("rect", { x: x, y: y, width: barW, height: h,
          fill: COLORS[p.key] || PALETTE[pi % PALETTE.length] });
        rect.appendChild(el("title", {}, g.label + " · " + p.key + ": " + (opts.percent ? (p.value * 100).toFixed(1) + "%" : p.value)));
        svg.appendChild(rect);
      });
      var total = g.parts.reduce(function (a, p) { return a + p.value; }, 0);
      svg.appendChild(el("text", { x: x + barW / 2, y: y - 4, "text-anchor": "middle" },
        opts.percent ? (total * 100).toFixed(1) + "%" : String(total)));
      svg.appendChild(el("text", { x: x + barW / 2, y: height - 10, "text-anchor": "middle" }, g.label));
    });
    if (keys.length > 1) {
      keys.forEach(function (k, ki) {
        var lx = left + ki * 90;
        svg.appendChild(el("rect", { x: lx, y: 4, width: 10, height: 10, fill: COLORS[k] || PALETTE[ki % PALETTE.length] }));
        svg.appendChild(el("text", { x: lx + 14, y: 13 }, k));
      });
    }
    target.appendChild(svg);
  }

  function render() {
    var source = document.getElementById("chart-data");
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var types = Object.keys(data.volumes.series);
    var volumes = document.getElementById("chart-volumes");
    if (volumes) stacked(volumes, data.volumes.labels.map(function (issuer, i) {
      return { label: issuer, parts: types.map(function (t) { return { key: t, value: data.volumes.series[t][i] }; }) };
    }), types);
    var lanes = document.getElementById("chart-lanes");
    var laneKeys = ["GREEN", "YELLOW", "RED"];
    if (lanes) stacked(lanes, Object.keys(data.lanes).map(function (t) {
      return { label: t, parts: laneKeys.map(function (k) { return { key: k, value: data.lanes[t][k] || 0 }; }) };
    }), laneKeys);
    var latency = document.getElementById("chart-latency");
    if (latency) stacked(latency, data.latency.labels.map(function (l, i) {
      return { label: l, parts: [{ key: "acknowledged", value: data.latency.values[i] }] };
    }), ["acknowledged"]);
    var inspection = document.getElementById("chart-inspection");
    if (inspection) stacked(inspection, Object.keys(data.inspection).map(function (g) {
      var r = data.inspection[g];
      return { label: g + " (" + r.inspected + "/" + r.assessed + ")", parts: [{ key: g, value: r.rate }] };
    }), ["AEO"], { percent: true, max: 1 });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", render);
  else render();
})();
