// The as-of date as day, month and year fields in the chosen language's order and words.
// Chromium writes an <input type=date> in the browser's language whatever the page's, so the
// native input is kept only for its calendar button and the fields say the date.

import { parseDate } from "./dates.js";
import { h } from "./dom.js";
import { monthName } from "./format.js";
import { locale, t } from "./i18n.js";

const FIRST_YEAR = 2010;

function daysIn(year, month) {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function pad(n, width) {
  return String(n).padStart(width, "0");
}

/** "day", "month" and "year" in the order the chosen language writes a date. */
function fieldOrder() {
  return new Intl.DateTimeFormat(locale(), { day: "numeric", month: "long", year: "numeric" })
    .formatToParts(new Date(Date.UTC(2000, 0, 2)))
    .map((part) => part.type)
    .filter((type) => type === "day" || type === "month" || type === "year");
}

function options(select, values, label, chosen) {
  select.replaceChildren(...values.map((value) => h("option",
    { value, selected: value === chosen }, label(value))));
}

/**
 * Fills `box` with the three fields; `onPick(iso)` is called with the date the reader sets.
 * Returns show(iso), which sets the fields to a date (and redraws them in the language now
 * chosen).
 */
export function dateFields(box, onPick) {
  const fields = {
    day: h("select", { "data-testid": "as-of-day" }),
    month: h("select", { "data-testid": "as-of-month" }),
    year: h("select", { "data-testid": "as-of-year" }),
  };
  let shown = null;
  const picked = () => {
    const year = Number(fields.year.value);
    const month = Number(fields.month.value);
    // 31 in a month of 30 days means its last day.
    const day = Math.min(Number(fields.day.value), daysIn(year, month));
    onPick(`${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`);
  };
  for (const select of Object.values(fields)) select.addEventListener("change", picked);

  return function show(iso) {
    shown = iso || shown;
    if (!shown) return;
    const date = parseDate(shown);
    const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    const lastYear = Math.max(new Date().getUTCFullYear() + 1, year);
    const years = [];
    for (let y = Math.min(FIRST_YEAR, year); y <= lastYear; y += 1) years.push(y);
    options(fields.day, Array.from({ length: 31 }, (_, i) => i + 1), (d) => String(d), day);
    options(fields.month, Array.from({ length: 12 }, (_, i) => i + 1), monthName, month);
    options(fields.year, years, (y) => String(y), year);
    fields.day.setAttribute("aria-label", t("day"));
    fields.month.setAttribute("aria-label", t("month"));
    fields.year.setAttribute("aria-label", t("year"));
    box.replaceChildren(...fieldOrder().map((type) => fields[type]));
    box.dataset.value = shown;
  };
}
