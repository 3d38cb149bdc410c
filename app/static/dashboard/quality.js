// The data quality panel of a region: its subtree's flags on as_of, by kind, each naming the
// office or region it is about, and the flag count of each child.

import { h } from "./dom.js";
import { fmtDate, fmtInt } from "./format.js";
import { t } from "./i18n.js";
import { nameOf, officeName } from "./names.js";
import { hashFor } from "./routes.js";

export const QUALITY_LIMIT = 5000; // one call counts the children's flags
const SHOWN_PER_KIND = 10;
const KINDS = ["outlier", "over_coverage", "recorded_decrease", "eligible_jump", "figure_mismatch", "silent"];

function byKind(quality) {
  const groups = new Map(KINDS.map((kind) => [kind, []]));
  for (const flag of quality.flags) {
    if (!groups.has(flag.kind)) groups.set(flag.kind, []);
    groups.get(flag.kind).push(flag);
  }
  return [...groups].filter(([, flags]) => flags.length);
}

/** The flags the panel names one by one (the rest of each kind are counted). */
export function shownFlags(quality) {
  return byKind(quality).flatMap(([, flags]) => flags.slice(0, SHOWN_PER_KIND));
}

/** Flags in each child's subtree, by child code; "+" when the call did not return them all. */
export function flagsByChild(quality, children) {
  const counts = new Map(children.map((child) => [child.code, 0]));
  for (const flag of quality.flags) {
    const child = children.find((c) => flag.region === c.code || flag.region.startsWith(`${c.code}.`));
    if (child) counts.set(child.code, counts.get(child.code) + 1);
  }
  return { counts, partial: quality.total > quality.flags.length };
}

export function flagCountText(count, partial) {
  return partial ? `${fmtInt(count)}+` : fmtInt(count);
}

function what(flag) {
  const value = fmtInt(flag.value);
  const expected = fmtInt(flag.expected);
  return t(`flag_${flag.kind}`, { value, expected, date: fmtDate(flag.date) });
}

function flagItem(flag, asOf) {
  const [href, name, code] = flag.office
    ? [hashFor("office", flag.office, asOf), officeName(flag.office) || flag.office, flag.office]
    : [hashFor("region", flag.region, asOf), nameOf(flag.region), flag.region];
  return h("li", { "data-kind": flag.kind, "data-code": code },
    h("a", { href }, name), " ", h("span", { class: "code" }, code), " ",
    h("span", { class: "flag-what" }, what(flag)),
    flag.checked ? h("span", { class: "flag-checked" }, ` · ${t("flagChecked")}`) : null);
}

/** The panel; `error` when the flags could not be read. */
export function qualitySection(quality, error, asOf, explainHref) {
  const body = [];
  if (error || !quality) body.push(h("p", { class: "muted" }, t("qualityFailed")));
  else if (!quality.total) body.push(h("p", { class: "muted" }, t("qualityNone")));
  else {
    body.push(h("p", { class: "reporting-summary" }, t("qualityTotal", { total: fmtInt(quality.total) })));
    const partial = quality.total > quality.flags.length;
    for (const [kind, flags] of byKind(quality)) {
      const more = flags.length - SHOWN_PER_KIND;
      body.push(h("section", { class: "flag-kind", "data-kind": kind },
        h("h3", {}, `${t(`kind_flag_${kind}`)} (${flagCountText(flags.length, partial)})`),
        h("ul", { class: "flag-list" }, flags.slice(0, SHOWN_PER_KIND).map((flag) => flagItem(flag, asOf))),
        more > 0 ? h("p", { class: "note" }, t("qualityMore", { count: fmtInt(more) })) : null));
    }
    if (partial) {
      body.push(h("p", { class: "note" }, t("qualityPartial", {
        shown: fmtInt(quality.flags.length), total: fmtInt(quality.total),
      })));
    }
  }
  return h("section", { class: "panel", id: "section-quality", tabindex: "-1", "data-testid": "quality" },
    h("h2", {}, t("qualityTitle")),
    ...body,
    h("p", { class: "note" }, h("a", { href: explainHref, "data-testid": "explain-link" }, t("explainLink"))));
}
