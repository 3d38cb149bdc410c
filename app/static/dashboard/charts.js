// Charts as SVG, drawn for the width their box gets once it is in the page.
//
// A view calls chartPanel(..., charts) while it builds its nodes; once they are in the page
// drawCharts(charts) draws each at its box's real width.

import { svgEl, h } from "./dom.js";
import { fmtDate, fmtInt, fmtPct, isNum, numberFormat } from "./format.js";
import { t } from "./i18n.js";

/** Draws the charts collected while a view was built; call once the view is in the page. */
export function drawCharts(charts) {
  for (const chart of charts) chart.el.replaceChildren(chart.draw(chartWidth(chart.el)));
}

/** A chart box drawn after it is in the page, so it can be sized to its real width. */
export function chartPanel(title, subtitle, legendItems, testid, error, draw, charts) {
  const box = h("div", { class: "chart", "data-testid": testid });
  if (error) box.append(h("p", { class: "muted" }, t("chartFailed")));
  else charts.push({ el: box, draw });
  return h("section", { class: "panel" },
    h("h2", {}, title),
    subtitle ? h("p", { class: "muted" }, subtitle) : null,
    legend(legendItems),
    box);
}

function legend(items) {
  return h("ul", { class: "legend" }, items.map(([kind, text]) =>
    h("li", {}, h("span", { class: `swatch swatch-${kind}`, "aria-hidden": "true" }), text)));
}

function chartWidth(el) {
  return Math.max(Math.floor(el.clientWidth), 260);
}

function chartHeight(width) {
  return width < 480 ? 190 : 240;
}

function round2(n) {
  return Math.round(n * 100) / 100;
}

/** Evenly spaced "round" axis ticks (steps of 1, 2, 2.5 or 5 × 10^k) covering lo..hi. */
function niceScale(lo, hi, count, integer) {
  const raw = (hi - lo) / count;
  const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
  const factors = integer && magnitude < 10 ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
  let step = factors.map((f) => f * magnitude).find((s) => s >= raw);
  if (integer) step = Math.max(step, 1);
  const start = Math.floor(lo / step) * step;
  const end = Math.ceil(hi / step) * step;
  const ticks = [];
  for (let v = start; v <= end + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return { lo: start, hi: end, step, ticks };
}

/** SVG with a y grid; returns the plot box and the value -> y mapping. */
function chartFrame(width, scale, tickText, label) {
  const height = chartHeight(width);
  const labels = scale.ticks.map(tickText);
  const left = 10 + Math.max(...labels.map((s) => s.length)) * 7;
  const plot = { left, top: 12, right: width - 20, bottom: height - 28 };
  plot.width = plot.right - plot.left;
  plot.height = plot.bottom - plot.top;
  const y = (v) => plot.bottom - ((v - scale.lo) / (scale.hi - scale.lo)) * plot.height;
  const svg = svgEl("svg", {
    class: "chart-svg", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": label,
  });
  const grid = svgEl("g", { class: "grid" });
  scale.ticks.forEach((v, i) => {
    const yy = round2(y(v));
    grid.append(
      svgEl("line", { x1: plot.left, x2: plot.right, y1: yy, y2: yy }),
      svgEl("text", { x: plot.left - 6, y: yy, dy: "0.32em", "text-anchor": "end" }, labels[i]));
  });
  svg.append(grid);
  return { svg, plot, y };
}

/** Date labels along the bottom, spaced to fit, always including the last day. */
function xAxis(points, centerX, slot, plot) {
  const every = Math.max(1, Math.ceil(64 / slot));
  const last = points.length - 1;
  const axis = svgEl("g", { class: "x-axis" },
    svgEl("line", { x1: plot.left, x2: plot.right, y1: plot.bottom, y2: plot.bottom }));
  points.forEach((point, i) => {
    if ((last - i) % every !== 0) return;
    axis.append(svgEl("text", { x: round2(centerX(i)), y: plot.bottom + 18, "text-anchor": "middle" },
      fmtDate(point.date, "short")));
  });
  return axis;
}

/** Invisible full-height columns carrying a tooltip for each point. */
function hoverColumns(points, slotX, slot, plot, describe) {
  return svgEl("g", { class: "hover" }, points.map((point, i) => svgEl("rect",
    { x: round2(slotX(i)), y: plot.top, width: round2(slot), height: plot.height },
    svgEl("title", {}, describe(point)))));
}

/** A step line over the slots that have a target; gaps where the target is null. */
function stepPath(points, slotX, slot, y) {
  let d = "";
  let drawing = false;
  points.forEach((point, i) => {
    if (!isNum(point.target)) {
      drawing = false;
      return;
    }
    const yy = round2(y(point.target));
    d += drawing ? `V${yy}` : `M${round2(slotX(i))},${yy}`;
    d += `H${round2(slotX(i) + slot)}`;
    drawing = true;
  });
  return d;
}

function noDataNote() {
  return h("p", { class: "muted" }, t("noData"));
}

/** Daily bars with the daily target as a step line. Points: {date, value, target}. */
export function barChart(width, points, label) {
  if (!points.length) return noDataNote();
  const values = points.flatMap((p) => [p.value, p.target]).filter(isNum);
  const scale = niceScale(0, Math.max(1, ...values), 4, true);
  const { svg, plot, y } = chartFrame(width, scale, fmtInt, label);
  const slot = plot.width / points.length;
  const slotX = (i) => plot.left + i * slot;
  const bars = svgEl("g", { class: "bars" });
  points.forEach((point, i) => {
    const top = y(isNum(point.value) ? point.value : 0);
    bars.append(svgEl("rect", {
      x: round2(slotX(i) + slot * 0.15), y: round2(top),
      width: round2(Math.max(slot * 0.7, 1)), height: round2(plot.bottom - top),
    }));
  });
  svg.append(bars);
  const targetPath = stepPath(points, slotX, slot, y);
  if (targetPath) svg.append(svgEl("path", { class: "target-line", d: targetPath }));
  svg.append(
    xAxis(points, (i) => slotX(i) + slot / 2, slot, plot),
    hoverColumns(points, slotX, slot, plot, (p) => {
      const target = isNum(p.target) ? ` (${t("tooltipTarget", { target: fmtInt(p.target) })})` : "";
      return `${fmtDate(p.date)}: ${fmtInt(p.value)}${target}`;
    }));
  return svg;
}

function pctTick(step) {
  const wholePercents = Math.abs(Math.round(step * 100) - step * 100) < 1e-9;
  const format = numberFormat(wholePercents ? "wholePct" : "pct");
  return (v) => format.format(v);
}

/** Coverage (0..1) as a line with the coverage target as a dashed level. */
export function coverageChart(width, points, target, label) {
  const values = points.map((p) => p.value).filter(isNum);
  if (!values.length) return noDataNote();
  const bounds = isNum(target) ? values.concat(target) : values;
  // Pad the range a little so the line and target never sit on the frame.
  const scale = niceScale(Math.max(0, Math.min(...bounds) - 0.02), Math.max(...bounds) + 0.02, 4, false);
  const { svg, plot, y } = chartFrame(width, scale, pctTick(scale.step), label);
  const slot = plot.width / points.length;
  const centerX = (i) => plot.left + (i + 0.5) * slot;
  if (isNum(target)) {
    const yy = round2(y(target));
    svg.append(svgEl("line", { class: "target-line dashed", x1: plot.left, x2: plot.right, y1: yy, y2: yy }));
  }
  let d = "";
  let lastIndex = -1;
  points.forEach((point, i) => {
    if (!isNum(point.value)) return;
    d += `${lastIndex === i - 1 && lastIndex >= 0 ? "L" : "M"}${round2(centerX(i))},${round2(y(point.value))}`;
    lastIndex = i;
  });
  svg.append(
    svgEl("path", { class: "coverage-line", d }),
    svgEl("circle", { class: "coverage-dot", cx: round2(centerX(lastIndex)), cy: round2(y(points[lastIndex].value)), r: 3.5 }),
    xAxis(points, centerX, slot, plot),
    hoverColumns(points, (i) => plot.left + i * slot, slot, plot, (p) => `${fmtDate(p.date)}: ${fmtPct(p.value)}`));
  return svg;
}
