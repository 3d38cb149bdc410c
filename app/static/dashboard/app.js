"use strict";

/*
 * Rekam dashboard: a hash-routed page showing e-KTP recording progress from
 * the /api/v1 JSON API. Every figure shown comes from the API; this file only
 * formats values and works out chart geometry.
 *
 * Routes:  #/region/CODE[?as_of=YYYY-MM-DD]   #/office/CODE[?as_of=YYYY-MM-DD]
 */

const API_ROOT = "/api/v1";
const TOKEN_KEY = "rekam.token";
const LANG_KEY = "rekam.lang";
const MAX_CHIPS = 50; // offices named in "not reported"; the rest are counted per child
const ROUTE_KEY = "rekam.route"; // the last region or office the reader opened
const REFRESH_MS = 60000;
const CHART_DAYS = 90;
const DEFAULT_ROUTE = { view: "region", code: "ID", asOf: null };
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const DASH = "—";
const SVG_NS = "http://www.w3.org/2000/svg";

/* ------------------------------------------------------------------ text */

const TEXT = {
  id: {
    tagline: "Perekaman e-KTP",
    asOf: "Per tanggal",
    today: "Hari ini",
    token: "Token akses",
    save: "Simpan",
    tokenSaved: "Token disimpan.",
    tokenCleared: "Token dihapus.",
    langSwitch: "English",
    langSwitchLabel: "Switch to English",
    demoTitle: "Data demo",
    demoText: "Angka di halaman ini bukan data sebenarnya.",
    breadcrumbs: "Wilayah",
    version: "Rekam versi {version}",
    loading: "Memuat…",
    viewUnavailable: "Data tidak dapat ditampilkan.",
    noData: "Belum ada data.",
    chartFailed: "Grafik tidak dapat dimuat.",
    errTokenRequired: "Data ini memerlukan token akses. Isi kolom \u201cToken akses\u201d di atas lalu klik Simpan.",
    errTokenRejected: "Token akses ditolak. Periksa isi kolom \u201cToken akses\u201d di atas lalu klik Simpan.",
    errNetwork: "Server tidak dapat dihubungi. Data akan dicoba lagi secara otomatis.",
    errApi: "Kesalahan {status}: {detail}",
    errHttp: "Kesalahan {status} dari server.",
    errBadResponse: "Jawaban server tidak dapat dibaca.",
    errUnexpected: "Terjadi kesalahan tak terduga: {message}",
    dataAsOf: "data per {date}",
    futureDate: "Tanggal {date} belum tiba: angka ini hanya memuat data sampai hari ini.",
    noDataYet: "Belum ada data sampai {date}: pilih tanggal yang lebih baru.",
    level_nation: "Nasional",
    level_province: "Provinsi",
    level_regency: "Kabupaten/Kota",
    level_district: "Kecamatan",
    level_village: "Desa/Kelurahan",
    summary: "Ringkasan",
    coverage: "Cakupan perekaman",
    coverageMeter: "Cakupan {value}, target {target}",
    recorded: "Sudah terekam",
    eligible: "Wajib KTP",
    coverageTarget: "Target cakupan",
    targetBy: "{pct} pada {date}",
    targetSource: "Target dari wilayah",
    dayTitle: "Perekaman {date}",
    dailyTarget: "Target harian",
    achievement: "Capaian",
    requiredPerDay: "Kebutuhan per hari",
    daysLeft: "Sisa hari",
    deadline: "Tenggat",
    needed: "Target terekam",
    remaining: "Sisa penduduk",
    noTarget: "Wilayah ini tidak memiliki target cakupan.",
    projection: "Proyeksi target tercapai",
    onTrack: "Sesuai jadwal",
    behind: "Tidak sesuai jadwal",
    unknownTrack: "Status tidak diketahui",
    windowTitle: "{days} hari terakhir",
    averagePerDay: "Rata-rata per hari",
    daysTargetMet: "Hari target tercapai",
    period: "Periode",
    chartDaily: "Perekaman harian",
    chartCoverage: "Cakupan",
    recordings: "Rekaman",
    coverageTargetLine: "Target cakupan",
    tooltipTarget: "target {target}",
    childrenTitle: "Wilayah di bawah {name}",
    colRegion: "Wilayah",
    colCoverage: "Cakupan",
    colDay: "Rekaman {date}",
    colWindow: "Rekaman {days} hari",
    coverageCell: "{recorded} dari {eligible} terekam",
    noChildren: "Tidak ada wilayah di bawahnya.",
    welcomeTitle: "Rekam: kemajuan perekaman e-KTP",
    welcomeWhat: "Rekam menunjukkan berapa penduduk wajib KTP yang sudah direkam, hari demi hari, dari kecamatan sampai nasional, terhadap target harian dan target cakupan.",
    welcomeWho: "Data ini memerlukan token akses. Token diberikan oleh admin Disdukcapil kabupaten/kota Anda; masukkan di sini.",
    colStatus: "Status",
    colReporting: "Belum melapor",
    noTargetShort: "Tanpa target",
    notReported: "{missing} dari {expected}",
    officesTitle: "Kantor di wilayah ini",
    colOffice: "Kantor",
    colKind: "Jenis",
    colReported: "Melapor",
    yes: "Ya",
    no: "Tidak",
    noOffices: "Tidak ada kantor yang terdaftar langsung di wilayah ini.",
    missingToday: "Belum melapor hari ini",
    missingOn: "Belum melapor pada {date}",
    reportedOf: "{x} dari {y} kantor melapor",
    allReported: "Semua kantor sudah melapor.",
    missingTruncated: "Daftar ini hanya sebagian; seluruhnya {total} kantor belum melapor.",
    missingByChild: "{shown} dari {total} kantor yang belum melapor ditampilkan; kolom \u201cBelum melapor\u201d di tabel wilayah menunjukkan sisanya per wilayah.",
    office: "Kantor",
    totalRecordings: "Total rekaman",
    lastReported: "Laporan terakhir",
    officeInfo: "Keterangan kantor",
    region: "Wilayah",
    timezone: "Zona waktu",
    openedOn: "Dibuka",
    status: "Status",
    active: "Aktif",
    inactive: "Tidak aktif",
  },
  en: {
    tagline: "e-KTP recording",
    asOf: "As of",
    today: "Today",
    token: "Access token",
    save: "Save",
    tokenSaved: "Token saved.",
    tokenCleared: "Token removed.",
    langSwitch: "Bahasa Indonesia",
    langSwitchLabel: "Ganti ke Bahasa Indonesia",
    demoTitle: "Demo data",
    demoText: "The figures on this page are not real.",
    breadcrumbs: "Regions",
    version: "Rekam version {version}",
    loading: "Loading…",
    viewUnavailable: "The data cannot be shown.",
    noData: "No data yet.",
    chartFailed: "The chart could not be loaded.",
    errTokenRequired: "This data needs an access token. Enter it in the \u201cAccess token\u201d field above and click Save.",
    errTokenRejected: "The access token was rejected. Check the \u201cAccess token\u201d field above and click Save.",
    errNetwork: "The server cannot be reached. The page will retry automatically.",
    errApi: "Error {status}: {detail}",
    errHttp: "Error {status} from the server.",
    errBadResponse: "The server's answer could not be read.",
    errUnexpected: "Unexpected error: {message}",
    dataAsOf: "data as of {date}",
    futureDate: "{date} has not come yet: these figures hold the data up to today only.",
    noDataYet: "There is no data up to {date}: pick a later date.",
    level_nation: "Nation",
    level_province: "Province",
    level_regency: "Regency/City",
    level_district: "District",
    level_village: "Village",
    summary: "Summary",
    coverage: "Recording coverage",
    coverageMeter: "Coverage {value}, target {target}",
    recorded: "Recorded",
    eligible: "Eligible",
    coverageTarget: "Coverage target",
    targetBy: "{pct} by {date}",
    targetSource: "Target set by region",
    dayTitle: "Recordings on {date}",
    dailyTarget: "Daily target",
    achievement: "Achievement",
    requiredPerDay: "Required per day",
    daysLeft: "Days left",
    deadline: "Deadline",
    needed: "Recorded needed",
    remaining: "Residents remaining",
    noTarget: "This region has no coverage target.",
    projection: "Projected to reach target",
    onTrack: "On track",
    behind: "Behind schedule",
    unknownTrack: "Status unknown",
    windowTitle: "Last {days} days",
    averagePerDay: "Average per day",
    daysTargetMet: "Days target met",
    period: "Period",
    chartDaily: "Daily recordings",
    chartCoverage: "Coverage",
    recordings: "Recordings",
    coverageTargetLine: "Coverage target",
    tooltipTarget: "target {target}",
    childrenTitle: "Regions within {name}",
    colRegion: "Region",
    colCoverage: "Coverage",
    colDay: "Recordings {date}",
    colWindow: "Recordings, {days} days",
    coverageCell: "{recorded} of {eligible} recorded",
    noChildren: "There are no regions below this one.",
    welcomeTitle: "Rekam: e-KTP recording progress",
    welcomeWhat: "Rekam shows how many residents eligible for an e-KTP have been recorded, day by day, from one kecamatan up to the nation, against the daily and coverage targets.",
    welcomeWho: "This data needs an access token. Tokens are given by your regency's or city's Disdukcapil admin; enter yours here.",
    colStatus: "Status",
    colReporting: "Not reported",
    noTargetShort: "No target",
    notReported: "{missing} of {expected}",
    officesTitle: "Offices in this region",
    colOffice: "Office",
    colKind: "Kind",
    colReported: "Reported",
    yes: "Yes",
    no: "No",
    noOffices: "No offices are attached directly to this region.",
    missingToday: "Not reported today",
    missingOn: "Not reported on {date}",
    reportedOf: "{x} of {y} offices reported",
    allReported: "All offices have reported.",
    missingTruncated: "This list is partial; {total} offices have not reported in all.",
    missingByChild: "{shown} of the {total} offices that have not reported are shown; the \u201cNot reported\u201d column of the regions table counts them per region.",
    office: "Office",
    totalRecordings: "Total recordings",
    lastReported: "Last reported",
    officeInfo: "Office details",
    region: "Region",
    timezone: "Time zone",
    openedOn: "Opened",
    status: "Status",
    active: "Active",
    inactive: "Inactive",
  },
};

/* ----------------------------------------------------------------- state */

const state = {
  lang: readStored(LANG_KEY) === "en" ? "en" : "id",
  token: readStored(TOKEN_KEY) || "",
  shown: null,        // {route, data} of the view on screen
  error: null,        // error in the banner; kept so it can be re-translated
  meta: null,         // GET /meta answer
  sort: {},           // table id -> {key, dir}; kept across refreshes and navigation
  names: new Map(),   // region code -> name, for breadcrumbs
  seq: 0,             // bumped per load so that late answers of older loads are dropped
  controller: null,   // AbortController of the load in flight, null when idle
  viewWidth: 0,       // width the charts were last drawn for
};

function readStored(key) {
  try {
    return localStorage.getItem(key);
  } catch (err) {
    return null; // storage may be disabled; the page still works without it
  }
}

function writeStored(key, value) {
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch (err) {
    // Not persisted, but the current page keeps the value in `state`.
  }
}

/* ------------------------------------------------------------ formatting */

// Numbers and dates in the chosen language's format: id 1.234.567 and 85,3%; en 1,234,567
// and 85.3%.
function locale() {
  return state.lang === "en" ? "en-GB" : "id-ID";
}

const numberFormats = new Map();
const NUMBER_OPTIONS = {
  int: { maximumFractionDigits: 0 },
  dec: { maximumFractionDigits: 1 },
  pct: { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 },
  wholePct: { style: "percent", minimumFractionDigits: 0, maximumFractionDigits: 0 },
};

function numberFormat(kind) {
  const key = `${locale()}/${kind}`;
  if (!numberFormats.has(key)) numberFormats.set(key, new Intl.NumberFormat(locale(), NUMBER_OPTIONS[kind]));
  return numberFormats.get(key);
}

const dateFormats = new Map();

function t(key, params) {
  const template = TEXT[state.lang][key] ?? TEXT.id[key] ?? key;
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (match, name) => (name in params ? params[name] : match));
}

function isNum(value) {
  return typeof value === "number" && Number.isFinite(value);
}

function fmtInt(value) {
  return isNum(value) ? numberFormat("int").format(value) : DASH;
}

function fmtDec(value) {
  return isNum(value) ? numberFormat("dec").format(value) : DASH;
}

function fmtPct(value) {
  return isNum(value) ? numberFormat("pct").format(value) : DASH;
}

function dateFormat(kind) {
  const key = `${locale()}/${kind}`;
  if (!dateFormats.has(key)) {
    const options = kind === "short" ? { day: "numeric", month: "short" }
      : { day: "numeric", month: "short", year: "numeric" };
    dateFormats.set(key, new Intl.DateTimeFormat(locale(), { ...options, timeZone: "UTC" }));
  }
  return dateFormats.get(key);
}

/** Formats an API date ("2026-11-28") or timestamp as "28 Nov 2026". */
function fmtDate(value, kind = "long") {
  if (!value) return DASH;
  const date = DATE_RE.test(value) ? parseDate(value) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  if (!DATE_RE.test(value)) {
    // A timestamp: show the calendar day where the reader is.
    return fmtDate(isoDate(new Date(date.getTime() - date.getTimezoneOffset() * 60000)), kind);
  }
  return dateFormat(kind).format(date);
}

function fmtDateRange(from, to) {
  return `${fmtDate(from)} – ${fmtDate(to)}`;
}

/* ----------------------------------------------------------------- dates */

function parseDate(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d));
}

function isoDate(date) {
  return date.toISOString().slice(0, 10);
}

function addDays(iso, days) {
  const date = parseDate(iso);
  date.setUTCDate(date.getUTCDate() + days);
  return isoDate(date);
}

function dateRange(from, to) {
  const days = [];
  for (let day = from; day <= to; day = addDays(day, 1)) days.push(day);
  return days;
}

/** First day of the chart window that ends on (and includes) `end`. */
function chartStart(end) {
  return addDays(end, -(CHART_DAYS - 1));
}

/* ------------------------------------------------------------------- DOM */

function $(selector) {
  return document.querySelector(selector);
}

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
}

function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Builds an HTML element; text is always inserted as text, never as markup. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  appendAll(el, children);
  return el;
}

function svgEl(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  appendAll(el, children);
  return el;
}

/* --------------------------------------------------------------- routing */

function parseRoute() {
  const raw = location.hash.replace(/^#/, "");
  const [path, query = ""] = raw.split("?");
  const match = /^\/(region|office)\/([^/]+)$/.exec(path);
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

function hashFor(view, code, asOf) {
  return `#/${view}/${encodeURIComponent(code)}${asOf ? `?as_of=${asOf}` : ""}`;
}

function routeKey(route) {
  return route ? `${route.view}/${route.code}` : "";
}

/** Region codes nest by dots: "73.71.01" -> ["ID", "73", "73.71", "73.71.01"]. */
function ancestorCodes(code) {
  if (code === "ID") return ["ID"];
  const parts = code.split(".");
  return ["ID", ...parts.map((_, i) => parts.slice(0, i + 1).join("."))];
}

/* ------------------------------------------------------------------- API */

class ApiError extends Error {
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

async function api(path, params, signal) {
  const url = new URL(API_ROOT + path, location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
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

// Where a page without a route opens: the reader's last choice, else where the token's
// holder works (its office's region, its scope), else the nation.
async function firstRoute() {
  const stored = readStored(ROUTE_KEY);
  if (stored && /^#\/(region|office)\/[^/?]+$/.test(stored)) return stored;
  if (state.token) {
    try {
      const self = await api("/tokens/self");
      return hashFor("region", self.home, null);
    } catch (err) {
      // An unknown token is reported by the view itself; open at the nation.
    }
  }
  return hashFor(DEFAULT_ROUTE.view, DEFAULT_ROUTE.code, null);
}

function asOfParams(route) {
  return route.asOf ? { as_of: route.asOf } : {};
}

/** Fills the breadcrumb name cache; a missing name just leaves the code shown. */
function loadNames(codes, signal) {
  const wanted = codes.filter((code) => !state.names.has(code));
  return Promise.all(wanted.map((code) => api(`/regions/${encodeURIComponent(code)}`, null, signal)
    .then((region) => state.names.set(code, shownName(region)))
    .catch(() => undefined)));
}

/** Awaits all promises; the first (primary) one must succeed, others may fail. */
async function settle(primary, ...secondary) {
  const results = await Promise.allSettled([primary, ...secondary]);
  const failed = results.find((r) => r.status === "rejected" && r.reason && r.reason.name === "AbortError");
  if (failed) throw failed.reason;
  if (results[0].status === "rejected") throw results[0].reason;
  return results.map((r) => (r.status === "fulfilled" ? { value: r.value } : { error: r.reason }));
}

async function fetchRegion(route, signal) {
  const path = `/progress/${encodeURIComponent(route.code)}`;
  const progressP = api(path, asOfParams(route), signal);
  // Without a chosen date the chart ends on the server's as_of, known only from progress.
  const endP = route.asOf ? Promise.resolve(route.asOf) : progressP.then((p) => p.as_of);
  const seriesP = endP.then((end) => api(`${path}/series`,
    { from: chartStart(end), to: end, bucket: "day" }, signal));
  const namesP = loadNames(ancestorCodes(route.code).slice(0, -1), signal);
  const [progress, series] = await settle(progressP, seriesP, namesP);
  state.names.set(progress.value.region.code, shownName(progress.value.region));
  return { progress: progress.value, series: series.value, seriesError: series.error };
}

async function fetchOffice(route, signal) {
  const path = `/offices/${encodeURIComponent(route.code)}`;
  const officeP = api(path, null, signal);
  const progressP = api(`${path}/progress`, asOfParams(route), signal);
  const endP = route.asOf ? Promise.resolve(route.asOf) : progressP.then((p) => p.as_of);
  const countsP = endP.then((end) => api(`${path}/counts`, { from: chartStart(end), to: end }, signal)
    .then((body) => ({ from: chartStart(end), to: end, counts: body.counts })));
  const namesP = officeP.then((office) => loadNames(ancestorCodes(office.region), signal));
  const [progress, office, counts] = await settle(progressP, officeP, countsP, namesP);
  if (office.error) throw office.error;
  return { progress: progress.value, office: office.value, counts: counts.value, countsError: counts.error };
}

/* --------------------------------------------------------------- loading */

const VIEWS = {
  region: { fetch: fetchRegion, render: renderRegion },
  office: { fetch: fetchOffice, render: renderOffice },
};

async function load() {
  const route = parseRoute();
  if (!route) {
    history.replaceState(null, "", await firstRoute());
    return load();
  }
  writeStored(ROUTE_KEY, hashFor(route.view, route.code, null));
  const seq = ++state.seq;
  if (state.controller) state.controller.abort();
  const controller = new AbortController();
  state.controller = controller;
  document.body.dataset.state = "loading";
  syncControls(route);

  const sameView = state.shown && routeKey(state.shown.route) === routeKey(route);
  if (!sameView) {
    state.shown = null;
    window.scrollTo(0, 0);
    renderPlaceholder(route, t("loading"));
  }
  try {
    const data = await VIEWS[route.view].fetch(route, controller.signal);
    if (seq !== state.seq) return;
    state.shown = { route, data };
    showError(data.seriesError || data.countsError || null);
    document.body.dataset.state = renderShown() ? "ready" : "error";
  } catch (err) {
    if (seq !== state.seq || (err && err.name === "AbortError")) return;
    showError(err);
    // On a refresh keep the figures already on screen; elsewhere say why nothing shows.
    if (!state.shown || state.shown.route.asOf !== route.asOf) {
      state.shown = null;
      if (err instanceof ApiError && err.status === 401 && !state.token) renderWelcome();
      else renderPlaceholder(route, t("viewUnavailable"));
    }
    document.body.dataset.state = "error";
  } finally {
    if (seq === state.seq) state.controller = null;
  }
}

function refresh() {
  if (document.hidden || state.controller) return; // a load is already running
  load();
  loadMeta();
}

async function loadMeta() {
  try {
    state.meta = await api("/meta");
  } catch (err) {
    return; // the demo marker is a courtesy; the views report real errors
  }
  renderMeta();
}

/* ------------------------------------------------------------- rendering */

/** Redraws the current view from the data already fetched; false if that failed. */
function renderShown() {
  if (!state.shown) return false;
  const { route, data } = state.shown;
  const view = $("#view");
  const scrolled = saveInnerScroll(view);
  const charts = [];
  try {
    view.replaceChildren(...VIEWS[route.view].render(data, route, charts).filter(Boolean));
    for (const chart of charts) chart.el.replaceChildren(chart.draw(chartWidth(chart.el)));
  } catch (err) {
    showError(err); // an answer of an unexpected shape; report it instead of stopping
    return false;
  }
  restoreInnerScroll(view, scrolled);
  state.viewWidth = view.clientWidth;
  return true;
}

function renderPlaceholder(route, message) {
  setBreadcrumbs(route.view === "region"
    ? regionCrumbs(route.code, route.asOf, true)
    : [{ label: route.code, current: true }]);
  $("#view").replaceChildren(h("p", { class: "placeholder" }, message));
}

// A first visit without a token: what Rekam is, who gives tokens, and a place to enter one.
function renderWelcome() {
  setBreadcrumbs([]);
  const input = h("input", {
    id: "welcome-token", type: "password", autocomplete: "off", "data-testid": "welcome-token",
  });
  const form = h("form", { class: "welcome-form" },
    h("label", { for: "welcome-token" }, t("token")), input,
    h("button", { type: "submit" }, t("save")));
  form.addEventListener("submit", (event) => {
    $("#token").value = input.value;
    onSaveToken(event);
  });
  $("#view").replaceChildren(h("section", { class: "panel welcome", "data-testid": "welcome" },
    h("h1", {}, t("welcomeTitle")),
    h("p", {}, t("welcomeWhat")),
    h("p", {}, t("welcomeWho")),
    form));
}

/** Table wrappers scroll sideways on phones; keep their position across redraws. */
function saveInnerScroll(root) {
  const saved = new Map();
  root.querySelectorAll("[data-scroll-key]").forEach((el) => saved.set(el.dataset.scrollKey, el.scrollLeft));
  return saved;
}

function restoreInnerScroll(root, saved) {
  root.querySelectorAll("[data-scroll-key]").forEach((el) => {
    if (saved.has(el.dataset.scrollKey)) el.scrollLeft = saved.get(el.dataset.scrollKey);
  });
}

function showError(err) {
  if (err && !(err instanceof ApiError)) console.error(err);
  state.error = err || null;
  renderErrorBanner();
}

function errorText(err) {
  if (!(err instanceof ApiError)) return t("errUnexpected", { message: err.message || String(err) });
  if (err.status === 401) return t(state.token ? "errTokenRejected" : "errTokenRequired");
  if (err.status === 0) return t("errNetwork");
  return err.detail ? t("errApi", { status: err.status, detail: err.detail }) : t("errHttp", { status: err.status });
}

function renderErrorBanner() {
  const banner = $("#error-banner");
  banner.hidden = !state.error;
  banner.textContent = state.error ? errorText(state.error) : "";
  $("#token-form").classList.toggle("needs-token", Boolean(state.error && state.error.status === 401));
}

function renderMeta() {
  const meta = state.meta;
  $("#demo-banner").hidden = !(meta && meta.demo === true);
  $("#footer").textContent = meta && meta.version ? t("version", { version: meta.version }) : "";
}

/** Static text in index.html carries data-i18n keys. */
function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-aria]").forEach((el) => {
    el.setAttribute("aria-label", t(el.dataset.i18nAria));
  });
  const toggle = $("#lang-toggle");
  toggle.textContent = t("langSwitch");
  toggle.setAttribute("aria-label", t("langSwitchLabel"));
  toggle.setAttribute("lang", state.lang === "id" ? "en" : "id");
  renderMeta();
  renderErrorBanner();
}

function syncControls(route) {
  $("#as-of").value = route.asOf || "";
  $("#as-of-clear").disabled = !route.asOf;
}

function setBreadcrumbs(items) {
  $("#breadcrumbs ol").replaceChildren(...items.map((item) => h("li", {},
    item.current ? h("span", { "aria-current": "page" }, item.label) : h("a", { href: item.href }, item.label))));
}

function regionCrumbs(code, asOf, lastIsCurrent) {
  return ancestorCodes(code).map((ancestor) => ({
    label: state.names.get(ancestor) || ancestor,
    href: hashFor("region", ancestor, asOf),
    current: lastIsCurrent && ancestor === code,
  }));
}

function viewHeader(title, details, asOf) {
  document.title = `${title} · Rekam`;
  return h("div", { class: "view-head" },
    h("h1", {}, title),
    h("p", { class: "muted" }, [...details, t("dataAsOf", { date: fmtDate(asOf) })].join(" · ")));
}

/** Today in a timezone, as the API writes dates. */
function todayIn(timeZone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date());
}

// A word when the date asked for makes no sense yet: after today, or before any data.
function asOfNote(asOf, timeZone, hasData) {
  const key = asOf > todayIn(timeZone) ? "futureDate" : hasData ? null : "noDataYet";
  return key && h("p", { class: "note", role: "status", "data-testid": "as-of-note" },
    t(key, { date: fmtDate(asOf) }));
}

function levelName(level) {
  return TEXT.id[`level_${level}`] ? t(`level_${level}`) : level;
}

/* ----------------------------------------------------------------- cards */

function val(text, testid) {
  return h("span", { "data-testid": testid }, text);
}

/** A headline card: title, one big value, optional extra node, and label/value facts. */
function card(title, big, facts, extra) {
  return h("article", { class: "card" },
    h("h2", { class: "card-title" }, title),
    big === null ? null : h("p", { class: "card-value" }, big),
    extra,
    facts.length ? h("dl", { class: "facts" },
      facts.map(([label, value]) => h("div", {}, h("dt", {}, label), h("dd", {}, value)))) : null);
}

/** A horizontal bar filled to `value` (0..1) with an optional marker at `mark`. */
function meter(value, mark, label) {
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

function barPercent(fraction) {
  const clamped = Math.min(Math.max(isNum(fraction) ? fraction : 0, 0), 1);
  return `${clamped * 100}%`;
}

function coverageCard(progress, target) {
  const label = t("coverageMeter", { value: fmtPct(progress.coverage), target: fmtPct(target.coverage) });
  const rows = [
    [t("recorded"), val(fmtInt(progress.recorded), "headline-recorded")],
    [t("eligible"), val(fmtInt(progress.eligible), "headline-eligible")],
    [t("coverageTarget"), isNum(target.coverage)
      ? t("targetBy", { pct: fmtPct(target.coverage), date: fmtDate(target.deadline) }) : DASH],
  ];
  // A target inherited from an ancestor says where it comes from.
  if (target.source && target.source !== progress.region.code) {
    rows.push([t("targetSource"), val(target.source, "headline-target-source")]);
  }
  return card(t("coverage"), val(fmtPct(progress.coverage), "headline-coverage"), rows,
    meter(progress.coverage, target.coverage, label));
}

function dayCard(asOf, day) {
  return card(t("dayTitle", { date: fmtDate(asOf) }), val(fmtInt(day.recordings), "headline-day-recordings"), [
    [t("dailyTarget"), val(fmtInt(day.target), "headline-day-target")],
    [t("achievement"), val(fmtPct(day.achievement), "headline-day-achievement")],
  ]);
}

function requiredCard(target, hasTarget) {
  return card(t("requiredPerDay"), val(fmtDec(target.required_per_day), "headline-required-per-day"), [
    [t("daysLeft"), val(fmtInt(target.days_left), "headline-days-left")],
    [t("deadline"), fmtDate(target.deadline)],
    [t("needed"), fmtInt(target.needed)],
    [t("remaining"), fmtInt(target.remaining)],
  ], hasTarget ? null : h("p", { class: "muted" }, t("noTarget")));
}

function projectionCard(target) {
  const status = target.on_track === true ? ["ok", t("onTrack")]
    : target.on_track === false ? ["bad", t("behind")] : ["unknown", t("unknownTrack")];
  return card(t("projection"), val(fmtDate(target.projected_date), "headline-projected-date"), [],
    h("p", { class: `status status-${status[0]}`, "data-testid": "headline-on-track" }, status[1]));
}

function windowCard(win) {
  return card(t("windowTitle", { days: fmtInt(win.days) }), val(fmtInt(win.recordings), "headline-window-recordings"), [
    [t("averagePerDay"), fmtDec(win.average_per_day)],
    [t("daysTargetMet"), fmtInt(win.days_target_met)],
    [t("period"), fmtDateRange(win.from, win.to)],
  ]);
}

/* ---------------------------------------------------------------- charts */

/** A chart box drawn after it is in the page, so it can be sized to its real width. */
function chartPanel(title, subtitle, legendItems, testid, error, draw, charts) {
  const box = h("div", { class: "chart", "data-testid": testid });
  if (error) box.append(h("p", { class: "muted" }, t("chartFailed")));
  else charts.push({ el: box, draw });
  return h("section", { class: "panel" },
    h("h2", {}, title),
    subtitle ? h("p", { class: "muted" }, subtitle) : null,
    legend(legendItems),
    box);
}

function legend(items) {
  return h("ul", { class: "legend" }, items.map(([kind, text]) =>
    h("li", {}, h("span", { class: `swatch swatch-${kind}`, "aria-hidden": "true" }), text)));
}

function chartWidth(el) {
  return Math.max(Math.floor(el.clientWidth), 260);
}

function chartHeight(width) {
  return width < 480 ? 190 : 240;
}

function round2(n) {
  return Math.round(n * 100) / 100;
}

/** Evenly spaced "round" axis ticks (steps of 1, 2, 2.5 or 5 × 10^k) covering lo..hi. */
function niceScale(lo, hi, count, integer) {
  const raw = (hi - lo) / count;
  const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
  const factors = integer && magnitude < 10 ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
  let step = factors.map((f) => f * magnitude).find((s) => s >= raw);
  if (integer) step = Math.max(step, 1);
  const start = Math.floor(lo / step) * step;
  const end = Math.ceil(hi / step) * step;
  const ticks = [];
  for (let v = start; v <= end + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return { lo: start, hi: end, step, ticks };
}

/** SVG with a y grid; returns the plot box and the value -> y mapping. */
function chartFrame(width, scale, tickText, label) {
  const height = chartHeight(width);
  const labels = scale.ticks.map(tickText);
  const left = 10 + Math.max(...labels.map((s) => s.length)) * 7;
  const plot = { left, top: 12, right: width - 20, bottom: height - 28 };
  plot.width = plot.right - plot.left;
  plot.height = plot.bottom - plot.top;
  const y = (v) => plot.bottom - ((v - scale.lo) / (scale.hi - scale.lo)) * plot.height;
  const svg = svgEl("svg", {
    class: "chart-svg", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": label,
  });
  const grid = svgEl("g", { class: "grid" });
  scale.ticks.forEach((v, i) => {
    const yy = round2(y(v));
    grid.append(
      svgEl("line", { x1: plot.left, x2: plot.right, y1: yy, y2: yy }),
      svgEl("text", { x: plot.left - 6, y: yy, dy: "0.32em", "text-anchor": "end" }, labels[i]));
  });
  svg.append(grid);
  return { svg, plot, y };
}

/** Date labels along the bottom, spaced to fit, always including the last day. */
function xAxis(points, centerX, slot, plot) {
  const every = Math.max(1, Math.ceil(64 / slot));
  const last = points.length - 1;
  const axis = svgEl("g", { class: "x-axis" },
    svgEl("line", { x1: plot.left, x2: plot.right, y1: plot.bottom, y2: plot.bottom }));
  points.forEach((point, i) => {
    if ((last - i) % every !== 0) return;
    axis.append(svgEl("text", { x: round2(centerX(i)), y: plot.bottom + 18, "text-anchor": "middle" },
      fmtDate(point.date, "short")));
  });
  return axis;
}

/** Invisible full-height columns carrying a tooltip for each point. */
function hoverColumns(points, slotX, slot, plot, describe) {
  return svgEl("g", { class: "hover" }, points.map((point, i) => svgEl("rect",
    { x: round2(slotX(i)), y: plot.top, width: round2(slot), height: plot.height },
    svgEl("title", {}, describe(point)))));
}

/** A step line over the slots that have a target; gaps where the target is null. */
function stepPath(points, slotX, slot, y) {
  let d = "";
  let drawing = false;
  points.forEach((point, i) => {
    if (!isNum(point.target)) {
      drawing = false;
      return;
    }
    const yy = round2(y(point.target));
    d += drawing ? `V${yy}` : `M${round2(slotX(i))},${yy}`;
    d += `H${round2(slotX(i) + slot)}`;
    drawing = true;
  });
  return d;
}

function noDataNote() {
  return h("p", { class: "muted" }, t("noData"));
}

/** Daily bars with the daily target as a step line. Points: {date, value, target}. */
function barChart(width, points, label) {
  if (!points.length) return noDataNote();
  const values = points.flatMap((p) => [p.value, p.target]).filter(isNum);
  const scale = niceScale(0, Math.max(1, ...values), 4, true);
  const { svg, plot, y } = chartFrame(width, scale, fmtInt, label);
  const slot = plot.width / points.length;
  const slotX = (i) => plot.left + i * slot;
  const bars = svgEl("g", { class: "bars" });
  points.forEach((point, i) => {
    const top = y(isNum(point.value) ? point.value : 0);
    bars.append(svgEl("rect", {
      x: round2(slotX(i) + slot * 0.15), y: round2(top),
      width: round2(Math.max(slot * 0.7, 1)), height: round2(plot.bottom - top),
    }));
  });
  svg.append(bars);
  const targetPath = stepPath(points, slotX, slot, y);
  if (targetPath) svg.append(svgEl("path", { class: "target-line", d: targetPath }));
  svg.append(
    xAxis(points, (i) => slotX(i) + slot / 2, slot, plot),
    hoverColumns(points, slotX, slot, plot, (p) => {
      const target = isNum(p.target) ? ` (${t("tooltipTarget", { target: fmtInt(p.target) })})` : "";
      return `${fmtDate(p.date)}: ${fmtInt(p.value)}${target}`;
    }));
  return svg;
}

function pctTick(step) {
  const wholePercents = Math.abs(Math.round(step * 100) - step * 100) < 1e-9;
  const format = numberFormat(wholePercents ? "wholePct" : "pct");
  return (v) => format.format(v);
}

/** Coverage (0..1) as a line with the coverage target as a dashed level. */
function coverageChart(width, points, target, label) {
  const values = points.map((p) => p.value).filter(isNum);
  if (!values.length) return noDataNote();
  const bounds = isNum(target) ? values.concat(target) : values;
  // Pad the range a little so the line and target never sit on the frame.
  const scale = niceScale(Math.max(0, Math.min(...bounds) - 0.02), Math.max(...bounds) + 0.02, 4, false);
  const { svg, plot, y } = chartFrame(width, scale, pctTick(scale.step), label);
  const slot = plot.width / points.length;
  const centerX = (i) => plot.left + (i + 0.5) * slot;
  if (isNum(target)) {
    const yy = round2(y(target));
    svg.append(svgEl("line", { class: "target-line dashed", x1: plot.left, x2: plot.right, y1: yy, y2: yy }));
  }
  let d = "";
  let lastIndex = -1;
  points.forEach((point, i) => {
    if (!isNum(point.value)) return;
    d += `${lastIndex === i - 1 && lastIndex >= 0 ? "L" : "M"}${round2(centerX(i))},${round2(y(point.value))}`;
    lastIndex = i;
  });
  svg.append(
    svgEl("path", { class: "coverage-line", d }),
    svgEl("circle", { class: "coverage-dot", cx: round2(centerX(lastIndex)), cy: round2(y(points[lastIndex].value)), r: 3.5 }),
    xAxis(points, centerX, slot, plot),
    hoverColumns(points, (i) => plot.left + i * slot, slot, plot, (p) => `${fmtDate(p.date)}: ${fmtPct(p.value)}`));
  return svg;
}

/* ---------------------------------------------------------------- tables */

function toggleSort(tableId, key) {
  const current = state.sort[tableId];
  const dir = current && current.key === key && current.dir === "asc" ? "desc" : "asc";
  state.sort[tableId] = { key, dir };
}

function compareValues(a, b) {
  if (typeof a === "string" || typeof b === "string") {
    return String(a).localeCompare(String(b), "id", { numeric: true, sensitivity: "base" });
  }
  return a - b;
}

function sortRows(rows, columns, sort) {
  const column = sort && columns.find((c) => c.key === sort.key);
  if (!column) return rows; // server order until a header is clicked
  const dir = sort.dir === "desc" ? -1 : 1;
  return rows.slice().sort((ra, rb) => {
    const a = column.sortValue(ra);
    const b = column.sortValue(rb);
    const aMissing = a === null || a === undefined;
    const bMissing = b === null || b === undefined;
    if (aMissing || bMissing) return Number(aMissing) - Number(bMissing); // blanks last either way
    return dir * compareValues(a, b);
  });
}

/**
 * A table sortable by clicking its headers. Columns: {key, label, numeric, sortValue, cell}.
 * Rows carry data-code so tests and links can find them.
 */
function sortableTable(tableId, testid, columns, rows, emptyText) {
  const wrap = h("div", { class: "table-wrap", "data-scroll-key": tableId });
  const draw = (focusKey) => {
    wrap.replaceChildren(buildTable(tableId, testid, columns, rows, emptyText, (key) => {
      toggleSort(tableId, key);
      draw(key);
    }));
    if (focusKey) wrap.querySelector(`[data-sort-key="${focusKey}"]`).focus();
  };
  draw(null);
  return wrap;
}

function buildTable(tableId, testid, columns, rows, emptyText, onSort) {
  const sort = state.sort[tableId];
  const header = h("tr", {}, columns.map((column) => {
    const active = sort && sort.key === column.key;
    return h("th", {
      scope: "col",
      class: column.numeric ? "num" : null,
      "aria-sort": active ? (sort.dir === "desc" ? "descending" : "ascending") : null,
    }, h("button", { type: "button", class: "sort", "data-sort-key": column.key, onclick: () => onSort(column.key) },
      column.label));
  }));
  const body = rows.length
    ? sortRows(rows, columns, sort).map((row) => h("tr", { "data-code": row.code },
      columns.map((column) => h("td", { class: column.numeric ? "num" : null }, column.cell(row)))))
    : h("tr", { class: "empty" }, h("td", { colspan: columns.length }, emptyText));
  return h("table", { class: `table table-${tableId}`, "data-testid": testid }, h("thead", {}, header), h("tbody", {}, body));
}

// The name as shown (title case from the official capitals); the stored name as a fallback.
function shownName(region) {
  return region.display_name || region.name;
}

function codeNote(code) {
  return h("span", { class: "code" }, code);
}

function targetGap(child) {
  return isNum(child.coverage) && isNum(child.target_coverage)
    ? child.coverage - child.target_coverage : null;
}

// The status as a colour and, for those who cannot see it, as text.
function childStatus(child) {
  const [kind, text] = child.on_track === true ? ["ok", t("onTrack")]
    : child.on_track === false ? ["bad", t("behind")] : ["unknown", t("noTargetShort")];
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

function childrenSection(progress, route) {
  const reporting = new Map((progress.reporting.by_child || []).map((c) => [c.code, c]));
  if (!state.sort.children) state.sort.children = { key: "gap", dir: "asc" };
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
    // How far behind its target a child is: the default order, worst first, no target last.
    { key: "gap", label: t("colStatus"), sortValue: targetGap, cell: childStatus },
    {
      key: "reporting", label: t("colReporting"), numeric: true,
      sortValue: (r) => notReported(r, reporting), cell: (r) => reportingCell(r, reporting),
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
  return h("section", { class: "panel" },
    h("h2", {}, t("childrenTitle", { name: shownName(progress.region) })),
    sortableTable("children", "children-table", columns, progress.children || [], t("noChildren")));
}

function officesSection(progress, route) {
  const columns = [
    {
      key: "name", label: t("colOffice"), sortValue: (o) => o.name,
      cell: (o) => [h("a", { href: hashFor("office", o.code, route.asOf) }, o.name), codeNote(o.code)],
    },
    { key: "kind", label: t("colKind"), sortValue: (o) => o.kind, cell: (o) => o.kind || DASH },
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
  return h("section", { class: "panel" },
    h("h2", {}, t("officesTitle")),
    sortableTable("offices", "offices-table", columns, progress.offices || [], t("noOffices")));
}

function missingSection(progress, route) {
  const reporting = progress.reporting;
  const missing = reporting.missing || [];
  // A few chips help; hundreds are a wall: beyond MAX_CHIPS the children's table says where.
  const shown = missing.slice(0, MAX_CHIPS);
  return h("section", { class: "panel" },
    h("h2", {}, route.asOf ? t("missingOn", { date: fmtDate(reporting.date) }) : t("missingToday")),
    h("p", { class: "reporting-summary" },
      t("reportedOf", { x: fmtInt(reporting.reported), y: fmtInt(reporting.expected) })),
    h("ul", { class: "missing-list", "data-testid": "missing-list" }, shown.map((code) =>
      h("li", {}, h("a", { href: hashFor("office", code, route.asOf) }, code)))),
    reporting.missing_total === 0 ? h("p", { class: "muted" }, t("allReported")) : null,
    reporting.missing_total > shown.length
      ? h("p", { class: "note", "data-testid": "missing-more" }, t(
        (progress.children || []).length ? "missingByChild" : "missingTruncated",
        { total: fmtInt(reporting.missing_total), shown: fmtInt(shown.length) })) : null);
}

/* ----------------------------------------------------------------- views */

function renderRegion(data, route, charts) {
  const progress = data.progress;
  const target = progress.target || {};
  const region = progress.region;
  setBreadcrumbs(regionCrumbs(region.code, route.asOf, true));
  const points = data.series ? data.series.points : [];
  const range = points.length ? fmtDateRange(points[0].start, points[points.length - 1].end) : null;
  return [
    viewHeader(shownName(region), [levelName(region.level), region.code], progress.as_of),
    asOfNote(progress.as_of, (state.meta && state.meta.timezone) || "Asia/Jakarta",
      progress.recorded > 0 || progress.eligible !== null),
    h("section", { class: "cards", "aria-label": t("summary") },
      coverageCard(progress, target),
      dayCard(progress.as_of, progress.day),
      requiredCard(target, Boolean(progress.target)),
      projectionCard(target),
      windowCard(progress.window)),
    h("div", { class: "charts" },
      chartPanel(t("chartDaily"), range, [["bar", t("recordings")], ["target", t("dailyTarget")]],
        "chart-daily", data.seriesError,
        (width) => barChart(width, points.map((p) => ({ date: p.start, value: p.recordings, target: p.target })),
          t("chartDaily")), charts),
      chartPanel(t("chartCoverage"), range, [["line", t("chartCoverage")], ["dashed", t("coverageTargetLine")]],
        "chart-coverage", data.seriesError,
        (width) => coverageChart(width, points.map((p) => ({ date: p.start, value: p.coverage })),
          target.coverage, t("chartCoverage")), charts)),
    childrenSection(progress, route),
    officesSection(progress, route),
    missingSection(progress, route),
  ];
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
  const regionName = state.names.get(office.region) || office.region;
  return card(t("officeInfo"), null, [
    [t("colKind"), office.kind || DASH],
    [t("region"), h("a", { href: hashFor("region", office.region, route.asOf) }, regionName)],
    [t("dailyTarget"), fmtInt(office.daily_target)],
    [t("timezone"), office.timezone || DASH],
    [t("openedOn"), fmtDate(office.opened_on)],
    [t("status"), office.active === false ? t("inactive") : t("active")],
  ]);
}

function renderOffice(data, route, charts) {
  const { office, progress, counts } = data;
  setBreadcrumbs([...regionCrumbs(office.region, route.asOf, false), { label: office.name, current: true }]);
  const range = counts ? fmtDateRange(counts.from, counts.to) : null;
  return [
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
        "chart-office-daily", data.countsError,
        (width) => barChart(width, officePoints(office, counts), t("chartDaily")), charts)),
  ];
}

/* --------------------------------------------------------------- wiring */

function onAsOfChange() {
  const route = parseRoute() || DEFAULT_ROUTE;
  const value = $("#as-of").value;
  location.hash = hashFor(route.view, route.code, DATE_RE.test(value) ? value : null);
}

function onClearAsOf() {
  const route = parseRoute() || DEFAULT_ROUTE;
  location.hash = hashFor(route.view, route.code, null);
}

function onSaveToken(event) {
  event.preventDefault();
  state.token = $("#token").value.trim();
  writeStored(TOKEN_KEY, state.token);
  const status = $("#token-status");
  status.textContent = t(state.token ? "tokenSaved" : "tokenCleared");
  setTimeout(() => { status.textContent = ""; }, 3000);
  loadMeta();
  load();
}

function onToggleLanguage() {
  state.lang = state.lang === "id" ? "en" : "id";
  writeStored(LANG_KEY, state.lang);
  applyLanguage();
  const route = parseRoute();
  if (state.shown) renderShown();
  else if (!state.token && state.error instanceof ApiError && state.error.status === 401) renderWelcome();
  else if (route) renderPlaceholder(route, t(state.controller ? "loading" : "viewUnavailable"));
}

/** Charts are drawn for the width they get; redraw when that width changes. */
function onResize() {
  clearTimeout(onResize.timer);
  onResize.timer = setTimeout(() => {
    if ($("#view").clientWidth !== state.viewWidth) renderShown();
  }, 150);
}

function start() {
  $("#token").value = state.token;
  $("#as-of").addEventListener("change", onAsOfChange);
  $("#as-of-clear").addEventListener("click", onClearAsOf);
  $("#token-form").addEventListener("submit", onSaveToken);
  $("#lang-toggle").addEventListener("click", onToggleLanguage);
  window.addEventListener("hashchange", load);
  window.addEventListener("resize", onResize);
  setInterval(refresh, REFRESH_MS);
  applyLanguage();
  loadMeta();
  load();
}

start();
