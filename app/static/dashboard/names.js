// Region and office names for breadcrumbs, links and lists, remembered by code.

import { api } from "./api.js";

const names = new Map();

// The name as shown (title case from the official capitals); the stored name as a fallback.
export function shownName(region) {
  return region.display_name || region.name;
}

export function rememberName(region) {
  names.set(region.code, shownName(region));
}

/** The region's name if known, else its code. */
export function nameOf(code) {
  return names.get(code) || code;
}

/** Fills the cache for `codes`; a missing name just leaves the code shown. */
export function loadNames(codes, signal) {
  const wanted = codes.filter((code) => !names.has(code));
  return Promise.all(wanted.map((code) => api(`/regions/${encodeURIComponent(code)}`, null, signal)
    .then(rememberName)
    .catch(() => undefined)));
}

const MAX_LISTINGS = 30; // parents asked for at once; regions beyond stay shown by code

function parentOf(code) {
  return code.includes(".") ? code.slice(0, code.lastIndexOf(".")) : "ID";
}

/** Names `codes` by listing their parents' children: one call names a region's siblings too. */
export function loadNamesByParent(codes, signal) {
  const parents = [...new Set(codes.filter((code) => code !== "ID" && !names.has(code)).map(parentOf))];
  return Promise.all(parents.slice(0, MAX_LISTINGS).map((parent) => api("/regions", { parent }, signal)
    .then((body) => body.regions.forEach(rememberName))
    .catch(() => undefined)));
}

const offices = new Map(); // office code -> name

/** The office's name if known, else null. */
export function officeName(code) {
  return offices.get(code) || null;
}

/**
 * Fills the office name cache for `codes`. Below the nation one listing of the region's
 * offices holds them all (a province has hundreds, not thousands); at the nation each is
 * asked for alone (the caller asks for a few). A name not found leaves the code shown.
 */
export async function loadOfficeNames(codes, region, signal) {
  const wanted = [...new Set(codes)].filter((code) => !offices.has(code));
  if (!wanted.length) return;
  const list = region.level === "nation"
    ? await Promise.all(wanted.map((code) => api(`/offices/${encodeURIComponent(code)}`, null, signal)
      .catch(() => null)))
    : (await api("/offices", { region: region.code }, signal)).offices;
  for (const office of list) if (office) offices.set(office.code, office.name);
}
