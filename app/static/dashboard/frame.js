// What stays around every view in index.html: breadcrumbs, banners, footer and static text.

import { ApiError, getToken } from "./api.js";
import { $, h } from "./dom.js";
import { getLang, hasText, t } from "./i18n.js";

let error = null; // the banner's error; kept so it can be said again in another language
let meta = null; // GET /meta

export function setBreadcrumbs(items) {
  $("#breadcrumbs ol").replaceChildren(...items.map((item) => h("li", {},
    item.current ? h("span", { "aria-current": "page" }, item.label) : h("a", { href: item.href }, item.label))));
}

export function currentError() {
  return error;
}

export function showError(err) {
  if (err && !(err instanceof ApiError)) console.error(err);
  error = err || null;
  renderErrorBanner();
}

function errorText(err) {
  if (!(err instanceof ApiError)) return t("errUnexpected", { message: err.message || String(err) });
  if (err.status === 401) return t(getToken() ? "errTokenRejected" : "errTokenRequired");
  if (err.status === 0) return t("errNetwork");
  // The server's own words (in English) follow the page's sentence, for whoever reports it.
  const said = hasText(`err${err.status}`) ? t(`err${err.status}`) : null;
  if (said) return err.detail ? `${said} ${t("errServerSays", { detail: err.detail })}` : said;
  return err.detail ? t("errApi", { status: err.status, detail: err.detail }) : t("errHttp", { status: err.status });
}

function renderErrorBanner() {
  const banner = $("#error-banner");
  banner.hidden = !error;
  banner.textContent = error ? errorText(error) : "";
  $("#token-form").classList.toggle("needs-token", Boolean(error && error.status === 401));
}

export function setMeta(value) {
  meta = value;
  renderMeta();
}

/** The service's own timezone, for "today" where no office is involved. */
export function serviceTimezone() {
  return (meta && meta.timezone) || "Asia/Jakarta";
}

function renderMeta() {
  $("#demo-banner").hidden = !(meta && meta.demo === true);
  $("#footer").textContent = meta && meta.version ? t("version", { version: meta.version }) : "";
}

/** Static text in index.html carries data-i18n keys. */
export function applyLanguage() {
  const lang = getLang();
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-aria]").forEach((el) => {
    el.setAttribute("aria-label", t(el.dataset.i18nAria));
  });
  document.querySelectorAll("[data-i18n-title]").forEach((el) => {
    el.setAttribute("title", t(el.dataset.i18nTitle));
    el.setAttribute("aria-label", t(el.dataset.i18nTitle));
  });
  const toggle = $("#lang-toggle");
  toggle.textContent = t("langSwitch");
  toggle.setAttribute("aria-label", t("langSwitchLabel"));
  toggle.setAttribute("lang", lang === "id" ? "en" : "id");
  renderMeta();
  renderErrorBanner();
}
