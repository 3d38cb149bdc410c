// The /api/v1 JSON API: the reader's token on every request, and revalidation by ETag.

import { t } from "./i18n.js";
import { readStored, writeStored } from "./storage.js";

const API_ROOT = "/api/v1";
const TOKEN_KEY = "rekam.token";

let token = readStored(TOKEN_KEY) || "";

export function getToken() {
  return token;
}

export function setToken(value) {
  token = value;
  writeStored(TOKEN_KEY, token);
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status; // 0 when the server could not be reached
    this.detail = detail;
  }
}

function describeDetail(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    // FastAPI validation errors: [{loc: [...], msg: "..."}]
    return detail.map((item) => {
      if (!item || typeof item !== "object") return String(item);
      const where = Array.isArray(item.loc) ? item.loc.join(".") : "";
      return where ? `${where}: ${item.msg}` : String(item.msg);
    }).join("; ");
  }
  return "";
}

// The last body of each URL with its ETag: a refresh revalidates (If-None-Match) and a 304
// reuses the body instead of fetching it again.
const revalidated = new Map();
const REVALIDATED_MAX = 200;

/** GET API_ROOT + path with the query `params` (empty ones left out); the parsed body. */
export async function api(path, params, signal) {
  const url = new URL(API_ROOT + path, location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const kept = revalidated.get(url.href);
  if (kept) headers["If-None-Match"] = kept.etag;
  let response;
  try {
    response = await fetch(url, { headers, signal, cache: "no-store" });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "");
  }
  if (response.status === 304 && kept) return kept.body;
  const body = await response.json().catch(() => undefined);
  if (!response.ok) throw new ApiError(response.status, describeDetail(body && body.detail));
  if (body === undefined) throw new ApiError(response.status, t("errBadResponse"));
  const etag = response.headers.get("ETag");
  if (etag) {
    if (revalidated.size >= REVALIDATED_MAX) revalidated.clear();
    revalidated.set(url.href, { etag, body });
  }
  return body;
}

/** Awaits all promises; the first (primary) one must succeed, others may fail. */
export async function settle(primary, ...secondary) {
  const results = await Promise.allSettled([primary, ...secondary]);
  const failed = results.find((r) => r.status === "rejected" && r.reason && r.reason.name === "AbortError");
  if (failed) throw failed.reason;
  if (results[0].status === "rejected") throw results[0].reason;
  return results.map((r) => (r.status === "fulfilled" ? { value: r.value } : { error: r.reason }));
}

export function asOfParams(route) {
  return route.asOf ? { as_of: route.asOf } : {};
}
