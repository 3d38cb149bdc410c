// One office: its day, its window, its totals and its own daily chart.

import { api, asOfParams, settle } from "../api.js";
import { asOfNote, card, dayCard, val, viewHeader, windowCard } from "../cards.js";
import { barChart, chartPanel } from "../charts.js";
import { regionCrumbs } from "../crumbs.js";
import { addDays, dateRange } from "../dates.js";
import { h } from "../dom.js";
import { DASH, fmtDate, fmtDateRange, fmtInt } from "../format.js";
import { kindName, t } from "../i18n.js";
import { loadNames, nameOf } from "../names.js";
import { ancestorCodes, hashFor } from "../routes.js";

const CHART_DAYS = 90;

export async function fetchData(route, signal) {
  const path = `/offices/${encodeURIComponent(route.code)}`;
  const officeP = api(path, null, signal);
  const progressP = api(`${path}/progress`, asOfParams(route), signal);
  const endP = route.asOf ? Promise.resolve(route.asOf) : progressP.then((p) => p.as_of);
  const countsP = endP.then((end) => {
    const from = addDays(end, -(CHART_DAYS - 1));
    return api(`${path}/counts`, { from, to: end }, signal).then((body) => ({ from, to: end, counts: body.counts }));
  });
  const namesP = officeP.then((office) => loadNames(ancestorCodes(office.region), signal));
  const [progress, office, counts] = await settle(progressP, officeP, countsP, namesP);
  if (office.error) throw office.error;
  return { progress: progress.value, office: office.value, counts: counts.value, error: counts.error };
}

/** Office counts only list days with a report; the chart shows the others as zero. */
function officePoints(office, counts) {
  const byDate = new Map(counts.counts.map((c) => [c.date, c.recordings]));
  return dateRange(counts.from, counts.to).map((date) => ({
    date,
    value: byDate.get(date) ?? 0,
    // No target before the office opened.
    target: office.opened_on && date < office.opened_on ? null : office.daily_target,
  }));
}

function officeInfoCard(office, route) {
  return card(t("officeInfo"), null, [
    [t("colKind"), kindName(office.kind) || DASH],
    [t("region"), h("a", { href: hashFor("region", office.region, route.asOf) }, nameOf(office.region))],
    [t("dailyTarget"), fmtInt(office.daily_target)],
    [t("timezone"), office.timezone || DASH],
    [t("openedOn"), fmtDate(office.opened_on)],
    [t("status"), office.active === false ? t("inactive") : t("active")],
  ]);
}

export function render(data, route, charts) {
  const { office, progress, counts } = data;
  const range = counts ? fmtDateRange(counts.from, counts.to) : null;
  const nodes = [
    viewHeader(office.name, [t("office"), office.code], progress.as_of),
    asOfNote(progress.as_of, office.timezone, progress.total > 0),
    h("section", { class: "cards", "aria-label": t("summary") },
      dayCard(progress.as_of, progress.day),
      windowCard(progress.window),
      card(t("totalRecordings"), val(fmtInt(progress.total), "office-total"), [
        [t("lastReported"), val(fmtDate(progress.last_reported), "office-last-reported")],
      ]),
      officeInfoCard(office, route)),
    h("div", { class: "charts charts-single" },
      chartPanel(t("chartDaily"), range, [["bar", t("recordings")], ["target", t("dailyTarget")]],
        "chart-office-daily", data.error,
        (width) => barChart(width, officePoints(office, counts), t("chartDaily")), charts)),
  ];
  return {
    crumbs: [...regionCrumbs(office.region, route.asOf, false), { label: office.name, current: true }],
    nodes,
    asOf: progress.as_of,
  };
}
