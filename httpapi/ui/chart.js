// A small line chart on a canvas: several series over a shared x axis
// (seconds), a y axis from 0 with round ticks, a legend. No dependencies.
"use strict";

window.LineChart = class LineChart {
  // canvas: a <canvas>; opts: {series: [{name, color}], unit: "ms", window: seconds shown (0: all)}
  constructor(canvas, opts) {
    this.canvas = canvas;
    this.opts = opts;
    this.data = opts.series.map(() => []);
    this.xs = [];
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  // push adds one point per series at x.
  push(x, ys) {
    this.xs.push(x);
    ys.forEach((y, i) => this.data[i].push(y));
    this.canvas.dataset.points = String(this.xs.length);
    this.draw();
  }

  // set replaces every point.
  set(xs, yss) {
    this.xs = xs.slice();
    this.data = yss.map((ys) => ys.slice());
    this.canvas.dataset.points = String(this.xs.length);
    this.draw();
  }

  draw() {
    const c = this.canvas, dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth, h = c.clientHeight;
    if (!w || !h) return;
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    g.font = "11px system-ui, sans-serif";

    let from = 0;
    if (this.opts.window && this.xs.length) {
      const last = this.xs[this.xs.length - 1];
      while (from < this.xs.length && this.xs[from] < last - this.opts.window) from++;
    }
    const xs = this.xs.slice(from);
    const ds = this.data.map((d) => d.slice(from));
    let ymax = 0;
    ds.forEach((d) => d.forEach((y) => { if (isFinite(y) && y > ymax) ymax = y; }));
    const step = niceStep(ymax > 0 ? ymax / 4 : 1);
    ymax = Math.max(step, Math.ceil(ymax / step) * step);
    const xmin = xs.length ? xs[0] : 0;
    const xmax = xs.length > 1 ? xs[xs.length - 1] : xmin + 1;

    const left = 56, right = 12, top = 22, bottom = 22;
    const pw = w - left - right, ph = h - top - bottom;
    const X = (x) => left + ((x - xmin) / (xmax - xmin)) * pw;
    const Y = (y) => top + ph - (y / ymax) * ph;

    // Grid and y labels.
    g.strokeStyle = "#e5e7eb";
    g.fillStyle = "#6b7280";
    g.lineWidth = 1;
    g.textAlign = "right";
    g.textBaseline = "middle";
    for (let y = 0; y <= ymax + step / 2; y += step) {
      const py = Math.round(Y(y)) + 0.5;
      g.beginPath(); g.moveTo(left, py); g.lineTo(w - right, py); g.stroke();
      g.fillText(fmt(y) + (this.opts.unit ? " " + this.opts.unit : ""), left - 6, py);
    }
    // x labels: seconds.
    g.textAlign = "center";
    g.textBaseline = "top";
    const xstep = niceStep((xmax - xmin) / 6 || 1);
    for (let x = Math.ceil(xmin / xstep) * xstep; x <= xmax; x += xstep) {
      g.fillText(fmt(x) + "s", X(x), top + ph + 5);
    }
    // Series.
    this.opts.series.forEach((s, i) => {
      g.strokeStyle = s.color;
      g.lineWidth = 1.75;
      g.beginPath();
      let started = false;
      ds[i].forEach((y, k) => {
        if (!isFinite(y)) return;
        const px = X(xs[k]), py = Y(y);
        if (started) g.lineTo(px, py); else { g.moveTo(px, py); started = true; }
      });
      g.stroke();
      if (xs.length === 1 && isFinite(ds[i][0])) {
        g.fillStyle = s.color;
        g.beginPath(); g.arc(X(xs[0]), Y(ds[i][0]), 2.5, 0, 7); g.fill();
      }
    });
    // Legend.
    g.textAlign = "left";
    g.textBaseline = "middle";
    let lx = left;
    this.opts.series.forEach((s) => {
      g.fillStyle = s.color;
      g.fillRect(lx, 7, 10, 3);
      g.fillStyle = "#374151";
      g.fillText(s.name, lx + 14, 9);
      lx += g.measureText(s.name).width + 30;
    });
    if (!xs.length) {
      g.fillStyle = "#9ca3af";
      g.textAlign = "center";
      g.fillText("waiting for data…", left + pw / 2, top + ph / 2);
    }
  }
};

function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
}

function fmt(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(v % 1e6 ? 1 : 0) + "M";
  if (v >= 1e4) return (v / 1e3).toFixed(v % 1e3 ? 1 : 0) + "k";
  if (v >= 100 || v === 0) return String(Math.round(v));
  return String(+v.toPrecision(3));
}
