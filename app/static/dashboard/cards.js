// The parts every view opens with: its heading, a note on the date, and the headline cards.

import { todayIn } from "./dates.js";
import { h } from "./dom.js";
import { DASH, fmtDate, fmtDateRange, fmtDec, fmtInt, fmtPct, isNum } from "./format.js";
import { hasText, t } from "./i18n.js";
import { nameOf } from "./names.js";

export function viewHeader(title, details, asOf) {
  document.title = `${title} · Rekam`;
  return h("div", { class: "view-head" },
    h("h1", {}, title),
    h("p", { class: "muted" }, [...details, t("dataAsOf", { date: fmtDate(asOf) })].join(" · ")));
}

// A word when the date asked for makes no sense yet: after today, or before any data.
export function asOfNote(asOf, timeZone, hasData) {
  const key = asOf > todayIn(timeZone) ? "futureDate" : hasData ? null : "noDataYet";
  return key && h("p", { class: "note", role: "status", "data-testid": "as-of-note" },
    t(key, { date: fmtDate(asOf) }));
}

export function levelName(level) {
  return hasText(`level_${level}`) ? t(`level_${level}`) : level;
}

export function val(text, testid) {
  return h("span", { "data-testid": testid }, text);
}

/** A headline card: title, one big value, optional extra node, and label/value facts. */
export function card(title, big, facts, extra, attrs) {
  return h("article", { class: "card", ...attrs },
    h("h2", { class: "card-title" }, title),
    big === null ? null : h("p", { class: "card-value" }, big),
    extra,
    facts.length ? h("dl", { class: "facts" },
      facts.map(([label, value]) => h("div", {}, h("dt", {}, label), h("dd", {}, value)))) : null);
}

function barPercent(fraction) {
  const clamped = Math.min(Math.max(isNum(fraction) ? fraction : 0, 0), 1);
  return `${clamped * 100}%`;
}

/** A horizontal bar filled to `value` (0..1) with an optional marker at `mark`. */
export function meter(value, mark, label) {
  const fill = h("span", { class: "meter-fill" });
  fill.style.width = barPercent(value);
  const el = h("span", { class: "meter", role: label ? "img" : null, "aria-label": label }, fill);
  if (isNum(mark)) {
    const marker = h("span", { class: "meter-mark" });
    marker.style.left = barPercent(mark);
    el.append(marker);
  }
  return el;
}

/** On track, behind or unknown: as a colour class and, for those who cannot see it, as text. */
export function trackStatus(onTrack, unknownKey) {
  return onTrack === true ? ["ok", t("onTrack")]
    : onTrack === false ? ["bad", t("behind")] : ["unknown", t(unknownKey)];
}

/** Coverage against the target that applies, with the target on the bar. */
function coverageTile(progress, target) {
  const label = t("coverageMeter", { value: fmtPct(progress.coverage), target: fmtPct(target.coverage) });
  return card(t("coverage"), val(fmtPct(progress.coverage), "headline-coverage"), [],
    [meter(progress.coverage, target.coverage, label),
      h("p", { class: "tile-note", "data-testid": "headline-coverage-target" }, isNum(target.coverage)
        ? t("targetBy", { pct: fmtPct(target.coverage), date: fmtDate(target.deadline) }) : t("noTargetShort"))],
    { class: "card tile" });
}

/** Today's recordings against the daily target. */
function dayTile(asOf, day) {
  return card(t("dayTitle", { date: fmtDate(asOf) }),
    [val(fmtInt(day.recordings), "headline-day-recordings"),
      h("span", { class: "of-target" }, " / ", val(fmtInt(day.target), "headline-day-target"))],
    [], h("p", { class: "tile-note" }, t("achievementIs", { pct: fmtPct(day.achievement) })),
    { class: "card tile" });
}

/** On track or not, as the projection says, with the pace needed. */
function trackTile(target) {
  const [kind, text] = trackStatus(target.on_track, "unknownTrack");
  return card(t("projection"), null, [], [
    h("p", { class: `status status-${kind}`, "data-testid": "headline-on-track" }, text),
    h("p", { class: "tile-note" }, t("projectedOn"), " ", val(fmtDate(target.projected_date), "headline-projected-date")),
  ], { class: "card tile" });
}

/** The three figures a reader looks for first, side by side on a desk, stacked on a phone. */
export function headline(progress, target) {
  return h("section", { class: "headline", "aria-label": t("summary"), "data-testid": "headline" },
    coverageTile(progress, target), dayTile(progress.as_of, progress.day), trackTile(target));
}

/** Recorded and eligible behind the coverage, and where an inherited target comes from. */
export function figuresCard(progress, target) {
  const rows = [
    [t("recorded"), val(fmtInt(progress.recorded), "headline-recorded")],
    [t("eligible"), val(fmtInt(progress.eligible), "headline-eligible")],
  ];
  if (target.source && target.source !== progress.region.code) {
    rows.push([t("targetSource"), [nameOf(target.source), " ",
      h("span", { class: "code-inline" }, "(", val(target.source, "headline-target-source"), ")")]]);
  }
  return card(t("figures"), null, rows);
}

export function dayCard(asOf, day) {
  return card(t("dayTitle", { date: fmtDate(asOf) }), val(fmtInt(day.recordings), "headline-day-recordings"), [
    [t("dailyTarget"), val(fmtInt(day.target), "headline-day-target")],
    [t("achievement"), val(fmtPct(day.achievement), "headline-day-achievement")],
  ]);
}

export function requiredCard(target, hasTarget) {
  return card(t("requiredPerDay"), val(fmtDec(target.required_per_day), "headline-required-per-day"), [
    [t("daysLeft"), val(fmtInt(target.days_left), "headline-days-left")],
    [t("deadline"), fmtDate(target.deadline)],
    [t("needed"), fmtInt(target.needed)],
    [t("remaining"), fmtInt(target.remaining)],
  ], hasTarget ? null : h("p", { class: "muted" }, t("noTarget")));
}

export function windowCard(win) {
  return card(t("windowTitle", { days: fmtInt(win.days) }), val(fmtInt(win.recordings), "headline-window-recordings"), [
    [t("averagePerDay"), fmtDec(win.average_per_day)],
    [t("daysTargetMet"), fmtInt(win.days_target_met)],
    [t("period"), fmtDateRange(win.from, win.to)],
  ]);
}
