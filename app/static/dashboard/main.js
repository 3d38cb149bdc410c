// Wires the page: the route in the address picks a view, which fetches and renders; the
// controls in the top bar change the route, the token or the language.

import { ApiError, api, getToken, setToken } from "./api.js";
import { drawCharts } from "./charts.js";
import { regionCrumbs } from "./crumbs.js";
import { DATE_RE } from "./dates.js";
import { $, h } from "./dom.js";
import { dateFields } from "./datefields.js";
import { applyLanguage, currentError, serviceTimezone, setBreadcrumbs, setMeta, showError } from "./frame.js";
import { getLang, setLang, t } from "./i18n.js";
import { readStored, writeStored } from "./storage.js";
import { DEFAULT_ROUTE, hashFor, parseRoute, routeKey } from "./routes.js";
import { restoreInnerScroll, saveInnerScroll } from "./tables.js";
import * as explain from "./views/explain.js";
import * as office from "./views/office.js";
import * as region from "./views/region.js";
import * as welcome from "./views/welcome.js";

const ROUTE_KEY = "rekam.route"; // the last region or office the reader opened
const REFRESH_MS = 60000;
// A view module exports fetchData(route, signal), which resolves to its data, and
// render(data, route, charts, page), which returns {crumbs, nodes, asOf}; it needs nothing
// else from this file.
const VIEWS = { region, office, explain };

let shown = null; // {route, data} of the view on screen
let seq = 0; // bumped per load so that late answers of older loads are dropped
let controller = null; // AbortController of the load in flight, null when idle
let viewWidth = 0; // width the charts were last drawn for

// Where a page without a route opens: the reader's last choice, else where the token's
// holder works (its office's region, its scope), else the nation.
async function firstRoute() {
  const stored = readStored(ROUTE_KEY);
  if (stored && /^#\/(region|office)\/[^/?]+$/.test(stored)) return stored;
  if (getToken()) {
    try {
      const self = await api("/tokens/self");
      return hashFor("region", self.home, null);
    } catch (err) {
      // An unknown token is reported by the view itself; open at the nation.
    }
  }
  return hashFor(DEFAULT_ROUTE.view, DEFAULT_ROUTE.code, null);
}

async function load() {
  const route = parseRoute();
  if (!route) {
    history.replaceState(null, "", await firstRoute());
    return load();
  }
  if (route.view !== "explain") writeStored(ROUTE_KEY, hashFor(route.view, route.code, null));
  const mine = ++seq;
  if (controller) controller.abort();
  const ownController = new AbortController();
  controller = ownController;
  document.body.dataset.state = "loading";
  syncControls(route);

  if (!(shown && routeKey(shown.route) === routeKey(route))) {
    shown = null;
    window.scrollTo(0, 0);
    renderPlaceholder(route, t("loading"));
  }
  try {
    const data = await VIEWS[route.view].fetchData(route, ownController.signal);
    if (mine !== seq) return;
    shown = { route, data };
    showError(data.error || null);
    document.body.dataset.state = renderShown() ? "ready" : "error";
  } catch (err) {
    if (mine !== seq || (err && err.name === "AbortError")) return;
    showError(err);
    // On a refresh keep the figures already on screen; elsewhere say why nothing shows.
    if (!shown || shown.route.asOf !== route.asOf) {
      shown = null;
      if (err instanceof ApiError && err.status === 401 && !getToken()) renderWelcome();
      else renderPlaceholder(route, t("viewUnavailable"));
    }
    document.body.dataset.state = "error";
  } finally {
    if (mine === seq) controller = null;
  }
}

function refresh() {
  if (document.hidden || controller) return; // a load is already running
  load();
  loadMeta();
}

async function loadMeta() {
  try {
    setMeta(await api("/meta"));
  } catch (err) {
    // The demo marker is a courtesy; the views report real errors.
  }
}

function show({ crumbs, nodes, asOf }) {
  setBreadcrumbs(crumbs);
  $("#view").replaceChildren(...nodes.filter(Boolean));
  showAsOf(asOf || null);
}

let showDate = () => {}; // sets the day, month and year fields (datefields.js)

function showAsOf(asOf) {
  const input = $("#as-of");
  if (asOf && !input.value) input.value = asOf;
  showDate(asOf);
}

/** Redraws the current view from the data already fetched; false if that failed. */
function renderShown() {
  if (!shown) return false;
  const { route, data } = shown;
  const view = $("#view");
  const scrolled = saveInnerScroll(view);
  const charts = [];
  try {
    show(VIEWS[route.view].render(data, route, charts, { timezone: serviceTimezone() }));
    drawCharts(charts);
  } catch (err) {
    showError(err); // an answer of an unexpected shape; report it instead of stopping
    return false;
  }
  restoreInnerScroll(view, scrolled);
  viewWidth = view.clientWidth;
  return true;
}

function renderPlaceholder(route, message) {
  show({
    crumbs: route.view !== "office" ? regionCrumbs(route.code, route.asOf, true) : [{ label: route.code, current: true }],
    nodes: [h("p", { class: "placeholder" }, message)],
  });
}

function renderWelcome() {
  show(welcome.render(saveToken));
}

function syncControls(route) {
  $("#as-of").value = route.asOf || "";
  $("#as-of-clear").disabled = !route.asOf;
  if (route.asOf) showDate(route.asOf);
}

function saveToken(value) {
  setToken(value);
  $("#token").value = value;
  const status = $("#token-status");
  status.textContent = t(value ? "tokenSaved" : "tokenCleared");
  setTimeout(() => { status.textContent = ""; }, 3000);
  loadMeta();
  load();
}

function pickDate(value) {
  const route = parseRoute() || DEFAULT_ROUTE;
  location.hash = hashFor(route.view, route.code, DATE_RE.test(value) ? value : null);
}

function onClearAsOf() {
  const route = parseRoute() || DEFAULT_ROUTE;
  location.hash = hashFor(route.view, route.code, null);
}

function onToggleLanguage() {
  setLang(getLang() === "id" ? "en" : "id");
  applyLanguage();
  showDate(null);
  const route = parseRoute();
  const err = currentError();
  if (shown) renderShown();
  else if (!getToken() && err instanceof ApiError && err.status === 401) renderWelcome();
  else if (route) renderPlaceholder(route, t(controller ? "loading" : "viewUnavailable"));
}

/** Charts are drawn for the width they get; redraw when that width changes. */
let resizeTimer = null;
function onResize() {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if ($("#view").clientWidth !== viewWidth) renderShown();
  }, 150);
}

function start() {
  $("#token").value = getToken();
  showDate = dateFields($("#as-of-fields"), pickDate);
  $("#as-of").addEventListener("change", () => pickDate($("#as-of").value));
  $("#as-of-clear").addEventListener("click", onClearAsOf);
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveToken($("#token").value.trim());
  });
  $("#lang-toggle").addEventListener("click", onToggleLanguage);
  window.addEventListener("hashchange", load);
  window.addEventListener("resize", onResize);
  setInterval(refresh, REFRESH_MS);
  applyLanguage();
  loadMeta();
  load();
}

start();
