// Values as text in the chosen language's format; a missing value is a dash.

import { DATE_RE, isoDate, parseDate } from "./dates.js";
import { locale } from "./i18n.js";

export const DASH = "—";

export function isNum(value) {
  return typeof value === "number" && Number.isFinite(value);
}

const NUMBER_OPTIONS = {
  int: { maximumFractionDigits: 0 },
  dec: { maximumFractionDigits: 1 },
  pct: { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 },
  wholePct: { style: "percent", minimumFractionDigits: 0, maximumFractionDigits: 0 },
};
const DATE_OPTIONS = {
  short: { day: "numeric", month: "short" },
  long: { day: "numeric", month: "short", year: "numeric" },
  month: { month: "long" },
  full: { weekday: "long", day: "numeric", month: "long", year: "numeric" },
};
const formats = new Map();

function cached(key, make) {
  if (!formats.has(key)) formats.set(key, make());
  return formats.get(key);
}

export function numberFormat(kind) {
  return cached(`${locale()}/n/${kind}`, () => new Intl.NumberFormat(locale(), NUMBER_OPTIONS[kind]));
}

function dateFormat(kind) {
  return cached(`${locale()}/d/${kind}`,
    () => new Intl.DateTimeFormat(locale(), { ...DATE_OPTIONS[kind], timeZone: "UTC" }));
}

export function fmtInt(value) {
  return isNum(value) ? numberFormat("int").format(value) : DASH;
}

export function fmtDec(value) {
  return isNum(value) ? numberFormat("dec").format(value) : DASH;
}

export function fmtPct(value) {
  return isNum(value) ? numberFormat("pct").format(value) : DASH;
}

/** An API date ("2026-11-28") or timestamp as "28 Nov 2026" ("short": "28 Nov", "full" with
 * the weekday and the month in words). */
export function fmtDate(value, kind = "long") {
  if (!value) return DASH;
  const date = DATE_RE.test(value) ? parseDate(value) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  if (!DATE_RE.test(value)) {
    // A timestamp: show the calendar day where the reader is.
    return fmtDate(isoDate(new Date(date.getTime() - date.getTimezoneOffset() * 60000)), kind);
  }
  return dateFormat(kind).format(date);
}

/** The name of month 1..12 in the chosen language. */
export function monthName(month) {
  return dateFormat("month").format(new Date(Date.UTC(2000, month - 1, 1)));
}

export function fmtDateRange(from, to) {
  return `${fmtDate(from)} – ${fmtDate(to)}`;
}
