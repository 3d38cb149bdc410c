// The address says what is shown:  #/region/CODE[?as_of=YYYY-MM-DD], #/office/CODE[?as_of=...],
// #/explain/CODE[?as_of=...] (how a region's figures are made).

import { DATE_RE } from "./dates.js";

export const DEFAULT_ROUTE = { view: "region", code: "ID", asOf: null };

export function parseRoute(hash = location.hash) {
  const raw = hash.replace(/^#/, "");
  const [path, query = ""] = raw.split("?");
  const match = /^\/(region|office|explain)\/([^/]+)$/.exec(path);
  if (!match) return null;
  let code;
  try {
    code = decodeURIComponent(match[2]);
  } catch (err) {
    return null;
  }
  const asOf = new URLSearchParams(query).get("as_of");
  return { view: match[1], code, asOf: DATE_RE.test(asOf || "") ? asOf : null };
}

export function hashFor(view, code, asOf) {
  return `#/${view}/${encodeURIComponent(code)}${asOf ? `?as_of=${asOf}` : ""}`;
}

/** Same view of the same thing, whatever the date. */
export function routeKey(route) {
  return route ? `${route.view}/${route.code}` : "";
}

/** Region codes nest by dots: "73.71.01" -> ["ID", "73", "73.71", "73.71.01"]. */
export function ancestorCodes(code) {
  if (code === "ID") return ["ID"];
  const parts = code.split(".");
  return ["ID", ...parts.map((_, i) => parts.slice(0, i + 1).join("."))];
}
