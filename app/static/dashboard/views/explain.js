// How a region's eligible and recorded are made: the parts GET .../explain unrolls.

import { api, asOfParams, settle } from "../api.js";
import { viewHeader } from "../cards.js";
import { regionCrumbs } from "../crumbs.js";
import { h } from "../dom.js";
import { DASH, fmtDate, fmtInt } from "../format.js";
import { t } from "../i18n.js";
import { loadNames, loadNamesByParent, nameOf } from "../names.js";
import { ancestorCodes, hashFor } from "../routes.js";

export async function fetchData(route, signal) {
  const explainP = api(`/progress/${encodeURIComponent(route.code)}/explain`, asOfParams(route), signal);
  const namesP = loadNames(ancestorCodes(route.code), signal);
  const partNamesP = explainP.then((explain) => loadNamesByParent(explain.parts.map((p) => p.region), signal));
  const [explain] = await settle(explainP, namesP, partNamesP);
  return { explain: explain.value };
}

function regionCell(code, asOf) {
  return [h("a", { href: hashFor("region", code, asOf) }, nameOf(code)), " ", h("span", { class: "code" }, code)];
}

function partRow(part, asOf, labels) {
  const cells = part.figure_date === undefined
    ? [t("explainOffices"), DASH, DASH, DASH, DASH, fmtInt(part.recordings)]
    : [
      t("explainFigure"),
      fmtDate(part.figure_date),
      fmtInt(part.eligible),
      fmtInt(part.recorded),
      part.counts_after_from ? `${fmtInt(part.counts_after)} (${fmtDate(part.counts_after_from)} – ${fmtDate(part.counts_after_to)})` : DASH,
      DASH,
    ];
  return h("tr", { "data-code": part.region },
    h("td", {}, regionCell(part.region, asOf)),
    cells.map((cell, i) => h("td", { class: i > 1 ? "num" : null, "data-label": labels[i + 1] }, cell)));
}

function columnLabels() {
  return [t("colRegion"), t("colPart"), t("colFigureDate"), t("eligible"), t("recorded"),
    t("colCountsAfter"), t("colOfficeRecordings")];
}

export function render(data, route) {
  const { explain } = data;
  const name = nameOf(explain.region.code);
  const asOf = route.asOf;
  const labels = columnLabels();
  const table = h("table", { class: "table table-explain", "data-testid": "explain-table" },
    h("thead", {}, h("tr", {}, labels.map((label, i) => h("th", { scope: "col", class: i > 2 ? "num" : null }, label)))),
    h("tbody", {}, explain.parts.map((part) => partRow(part, asOf, labels))),
    h("tfoot", {}, h("tr", { "data-testid": "explain-totals" },
      h("th", { scope: "row" }, t("explainTotals")), h("td", {}), h("td", {}),
      h("td", { class: "num", "data-label": labels[3], "data-testid": "explain-eligible" }, fmtInt(explain.totals.eligible)),
      h("td", { class: "num", "data-label": labels[4], "data-testid": "explain-recorded" }, fmtInt(explain.totals.recorded)),
      h("td", {}), h("td", {}))));
  return {
    crumbs: [...regionCrumbs(explain.region.code, asOf, false), { label: t("explainCrumb"), current: true }],
    nodes: [
      viewHeader(t("explainTitle", { name }), [explain.region.code], explain.as_of),
      h("section", { class: "panel" },
        h("p", {}, t("explainIntro", { name, date: fmtDate(explain.as_of) })),
        h("div", { class: "table-wrap" }, table)),
    ],
    asOf: explain.as_of,
  };
}
