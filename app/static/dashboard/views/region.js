// A region: its headline figures, charts, children worst first, offices, and who has not reported.

import { api, asOfParams, settle } from "../api.js";
import {
  asOfNote, figuresCard, headline, levelName, meter, requiredCard, trackStatus, viewHeader, windowCard,
} from "../cards.js";
import { barChart, chartPanel, coverageChart } from "../charts.js";
import { regionCrumbs } from "../crumbs.js";
import { addDays } from "../dates.js";
import { h } from "../dom.js";
import { DASH, fmtDate, fmtDateRange, fmtInt, fmtPct, isNum } from "../format.js";
import { kindName, t } from "../i18n.js";
import {
  loadNames, loadNamesByParent, loadOfficeNames, officeName, rememberName, shownName,
} from "../names.js";
import { QUALITY_LIMIT, flagCountText, flagsByChild, qualitySection, shownFlags } from "../quality.js";
import { ancestorCodes, hashFor } from "../routes.js";
import { defaultSort, sortableTable } from "../tables.js";

const CHART_DAYS = 90;
const MAX_CHIPS = 50; // offices named in "not reported"; the rest are counted per child

export async function fetchData(route, signal) {
  const path = `/progress/${encodeURIComponent(route.code)}`;
  const progressP = api(path, asOfParams(route), signal);
  // Without a chosen date the chart ends on the server's as_of, known only from progress.
  const endP = route.asOf ? Promise.resolve(route.asOf) : progressP.then((p) => p.as_of);
  const seriesP = endP.then((end) => api(`${path}/series`,
    { from: addDays(end, -(CHART_DAYS - 1)), to: end, bucket: "day" }, signal));
  const qualityP = endP.then((end) => api(`/quality/${encodeURIComponent(route.code)}`,
    { as_of: end, limit: QUALITY_LIMIT }, signal));
  const namesP = loadNames(ancestorCodes(route.code).slice(0, -1), signal);
  const namedP = progressP.then((p) => nameWhatIsListed(p, qualityP, signal));
  const [progress, series, quality] = await settle(progressP, seriesP, qualityP, namesP, namedP);
  rememberName(progress.value.region);
  return {
    progress: progress.value, series: series.value, error: series.error,
    quality: quality.value, qualityError: quality.error,
  };
}

/** Names the offices and regions listed by name: those not reported, and those flagged. */
async function nameWhatIsListed(progress, qualityP, signal) {
  const quality = await qualityP.catch(() => null);
  const flags = quality ? shownFlags(quality) : [];
  const offices = (progress.reporting.missing || []).slice(0, MAX_CHIPS)
    .concat(flags.filter((f) => f.office).map((f) => f.office));
  await Promise.all([
    loadOfficeNames(offices, progress.region, signal),
    loadNamesByParent(flags.filter((f) => !f.office).map((f) => f.region), signal),
  ]);
}

/** The view's nodes and breadcrumbs; `page.timezone` is the service's own. */
export function render(data, route, charts, page) {
  const progress = data.progress;
  const target = progress.target || {};
  const region = progress.region;
  const points = data.series ? data.series.points : [];
  const range = points.length ? fmtDateRange(points[0].start, points[points.length - 1].end) : null;
  const nodes = [
    viewHeader(shownName(region), [levelName(region.level), region.code], progress.as_of),
    asOfNote(progress.as_of, page.timezone, progress.recorded > 0 || progress.eligible !== null),
    headline(progress, target),
    jumpList(progress, data.quality),
    h("section", { class: "cards" },
      figuresCard(progress, target),
      requiredCard(target, Boolean(progress.target)),
      windowCard(progress.window)),
    h("div", { class: "charts" },
      chartPanel(t("chartDaily"), range, [["bar", t("recordings")], ["target", t("dailyTarget")]],
        "chart-daily", data.error,
        (width) => barChart(width, points.map((p) => ({ date: p.start, value: p.recordings, target: p.target })),
          t("chartDaily")), charts),
      chartPanel(t("chartCoverage"), range, [["line", t("chartCoverage")], ["dashed", t("coverageTargetLine")]],
        "chart-coverage", data.error,
        (width) => coverageChart(width, points.map((p) => ({ date: p.start, value: p.coverage })),
          target.coverage, t("chartCoverage")), charts)),
    childrenSection(progress, route, data.quality),
    officesSection(progress, route),
    missingSection(progress, route),
    qualitySection(data.quality, data.qualityError, route.asOf, hashFor("explain", region.code, route.asOf)),
  ];
  return { crumbs: regionCrumbs(region.code, route.asOf, true), nodes, asOf: progress.as_of };
}

const SECTIONS = {
  missing: "section-missing", children: "section-children", offices: "section-offices", quality: "section-quality",
};

function jumpTo(event) {
  // The address holds the route: scroll to the section instead of following the fragment.
  event.preventDefault();
  const section = document.getElementById(event.currentTarget.getAttribute("href").slice(1));
  section.scrollIntoView();
  section.focus({ preventScroll: true });
}

/** Links down the page to the lists a phone would otherwise scroll a long way for. */
function jumpList(progress, quality) {
  const links = [
    ["missing", t("jumpMissing", { count: fmtInt(progress.reporting.missing_total) })],
    ["children", t("jumpChildren", { count: fmtInt((progress.children || []).length) })],
    ["offices", t("jumpOffices", { count: fmtInt((progress.offices || []).length) })],
    ["quality", t("jumpQuality", { count: quality ? fmtInt(quality.total) : DASH })],
  ];
  return h("nav", { class: "jump", "aria-label": t("jumpTo"), "data-testid": "jump-list" },
    h("span", { class: "jump-label" }, t("jumpTo")),
    h("ul", {}, links.map(([key, text]) => h("li", {},
      h("a", { href: `#${SECTIONS[key]}`, "data-jump": key, onclick: jumpTo }, text)))));
}

function section(key, ...children) {
  return h("section", { class: "panel", id: SECTIONS[key], tabindex: "-1" }, ...children);
}

function codeNote(code) {
  return h("span", { class: "code" }, code);
}

function targetGap(child) {
  return isNum(child.coverage) && isNum(child.target_coverage)
    ? child.coverage - child.target_coverage : null;
}

function childStatus(child) {
  const [kind, text] = trackStatus(child.on_track, "noTargetShort");
  return h("span", { class: `status status-${kind}`, "data-status": kind }, text);
}

function notReported(child, reporting) {
  const counted = reporting.get(child.code);
  return counted ? counted.expected - counted.reported : null;
}

function reportingCell(child, reporting) {
  const counted = reporting.get(child.code);
  if (!counted || counted.expected === 0) return DASH;
  return t("notReported", {
    missing: fmtInt(counted.expected - counted.reported), expected: fmtInt(counted.expected),
  });
}

function childrenSection(progress, route, quality) {
  const reporting = new Map((progress.reporting.by_child || []).map((c) => [c.code, c]));
  const flagged = quality ? flagsByChild(quality, progress.children || []) : null;
  // How far behind its target a child is: the default order, worst first, no target last.
  defaultSort("children", "gap");
  const columns = [
    {
      key: "name", label: t("colRegion"), sortValue: (r) => shownName(r),
      cell: (r) => [h("a", { href: hashFor("region", r.code, route.asOf) }, shownName(r)), codeNote(r.code)],
    },
    {
      key: "coverage", label: t("colCoverage"), numeric: true, sortValue: (r) => r.coverage,
      cell: (r) => h("span", {
        class: "coverage-cell",
        title: t("coverageCell", { recorded: fmtInt(r.recorded), eligible: fmtInt(r.eligible) }),
      }, meter(r.coverage, r.target_coverage, null), h("span", { class: "pct" }, fmtPct(r.coverage))),
    },
    { key: "gap", label: t("colStatus"), sortValue: targetGap, cell: childStatus },
    {
      key: "reporting", label: t("colReporting"), numeric: true,
      sortValue: (r) => notReported(r, reporting), cell: (r) => reportingCell(r, reporting),
    },
    {
      key: "flags", label: t("colFlags"), numeric: true,
      sortValue: (r) => (flagged ? flagged.counts.get(r.code) : null),
      cell: (r) => (flagged ? h("span", { "data-testid": "child-flags" },
        flagCountText(flagged.counts.get(r.code), flagged.partial)) : DASH),
    },
    {
      key: "day", label: t("colDay", { date: fmtDate(progress.as_of, "short") }), numeric: true,
      sortValue: (r) => r.day_recordings, cell: (r) => fmtInt(r.day_recordings),
    },
    {
      key: "window", label: t("colWindow", { days: fmtInt(progress.window.days) }), numeric: true,
      sortValue: (r) => r.window_recordings, cell: (r) => fmtInt(r.window_recordings),
    },
  ];
  return section("children",
    h("h2", {}, t("childrenTitle", { name: shownName(progress.region) })),
    sortableTable("children", "children-table", columns, progress.children || [], t("noChildren")));
}

function officesSection(progress, route) {
  const columns = [
    {
      key: "name", label: t("colOffice"), sortValue: (o) => o.name,
      cell: (o) => [h("a", { href: hashFor("office", o.code, route.asOf) }, o.name), codeNote(o.code)],
    },
    { key: "kind", label: t("colKind"), sortValue: (o) => kindName(o.kind), cell: (o) => kindName(o.kind) || DASH },
    {
      key: "target", label: t("dailyTarget"), numeric: true,
      sortValue: (o) => o.daily_target, cell: (o) => fmtInt(o.daily_target),
    },
    {
      key: "day", label: t("colDay", { date: fmtDate(progress.as_of, "short") }), numeric: true,
      sortValue: (o) => o.day_recordings, cell: (o) => fmtInt(o.day_recordings),
    },
    {
      key: "window", label: t("colWindow", { days: fmtInt(progress.window.days) }), numeric: true,
      sortValue: (o) => o.window_recordings, cell: (o) => fmtInt(o.window_recordings),
    },
    {
      key: "reported", label: t("colReported"), sortValue: (o) => (typeof o.reported === "boolean" ? Number(o.reported) : null),
      cell: (o) => (typeof o.reported === "boolean"
        ? h("span", { class: o.reported ? "yes" : "no" }, t(o.reported ? "yes" : "no")) : DASH),
    },
  ];
  return section("offices",
    h("h2", {}, t("officesTitle")),
    sortableTable("offices", "offices-table", columns, progress.offices || [], t("noOffices")));
}

/** An office by its name, with its code beside it; by its code alone when its name is unknown. */
function officeChip(code, asOf) {
  const name = officeName(code);
  return h("li", { "data-code": code }, h("a", { href: hashFor("office", code, asOf) },
    name ? [h("span", { class: "name" }, name), " ", codeNote(code)] : code));
}

function missingSection(progress, route) {
  const reporting = progress.reporting;
  const missing = reporting.missing || [];
  // A few chips help; hundreds are a wall: beyond MAX_CHIPS the children's table says where.
  const shown = missing.slice(0, MAX_CHIPS);
  return section("missing",
    h("h2", {}, route.asOf ? t("missingOn", { date: fmtDate(reporting.date) }) : t("missingToday")),
    h("p", { class: "reporting-summary" },
      t("reportedOf", { x: fmtInt(reporting.reported), y: fmtInt(reporting.expected) })),
    h("ul", { class: "missing-list", "data-testid": "missing-list" },
      shown.map((code) => officeChip(code, route.asOf))),
    reporting.missing_total === 0 ? h("p", { class: "muted" }, t("allReported")) : null,
    reporting.missing_total > shown.length
      ? h("p", { class: "note", "data-testid": "missing-more" }, t(
        (progress.children || []).length ? "missingByChild" : "missingTruncated",
        { total: fmtInt(reporting.missing_total), shown: fmtInt(shown.length) })) : null);
}
