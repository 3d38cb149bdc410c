// Region names for breadcrumbs and links, remembered by code as the API gives them.

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
