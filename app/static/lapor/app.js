// Lapor: sign-in, the office's days, the entry form and the waiting entries.

import { call, detailOf, Offline } from "./api.js";
import { day, language, number, setLanguage, t, translate } from "./i18n.js";
import { deleteEntry, entryKey, forgetAll, getEntry, getValue, listEntries, putEntry, setValue } from "./store.js";
import { sendWaiting } from "./sync.js";

const $ = (id) => document.getElementById(id);
const state = { token: null, snapshot: null, entries: new Map(), online: navigator.onLine, selected: null };

// Calendar days, YYYY-MM-DD

function todayIn(timezone) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: timezone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(new Date());
  const part = (type) => parts.find((p) => p.type === type).value;
  return `${part("year")}-${part("month")}-${part("day")}`;
}

function daysBefore(iso, count) {
  const moment = new Date(`${iso}T12:00:00Z`);
  moment.setUTCDate(moment.getUTCDate() - count);
  return moment.toISOString().slice(0, 10);
}

// Today in the office's own timezone, by this device's clock, so the days stay right when
// the page opens offline after midnight.
function windowDays() {
  const today = todayIn(state.snapshot.office.timezone);
  return Array.from({ length: state.snapshot.windowDays }, (_, back) => daysBefore(today, back));
}

// Talking to the server

function showError(text) {
  $("error-banner").textContent = text;
  $("error-banner").hidden = !text;
}

function serverError(answer) {
  return t("serverError", { status: answer.status, detail: detailOf(answer) });
}

async function refresh() {
  const token = state.token;
  try {
    const [me, meta] = await Promise.all([call(token, "GET", "/tokens/self"), call(token, "GET", "/meta")]);
    if (me.status === 401) return showError(t("tokenRefused"));
    if (me.status !== 200) return showError(serverError(me));
    if (meta.status !== 200) return showError(serverError(meta));
    if (!me.data.office) return showError(t("notOffice"));
    const office = encodeURIComponent(me.data.office);
    const progress = await call(token, "GET", `/offices/${office}/progress`);
    if (progress.status !== 200) return showError(serverError(progress));
    const { code, name, timezone } = progress.data.office;
    const windowDays = meta.data.edit_window_days;
    const today = todayIn(timezone);
    const range = `from=${daysBefore(today, windowDays - 1)}&to=${today}`;
    const counts = await call(token, "GET", `/offices/${office}/counts?${range}`);
    if (counts.status !== 200) return showError(serverError(counts));
    state.snapshot = {
      office: { code, name, timezone },
      windowDays,
      target: progress.data.day.target,
      counts: Object.fromEntries(
        counts.data.counts.map((c) => [c.date, { recordings: c.recordings, note: c.note, version: c.version }]),
      ),
    };
    await setValue("snapshot", state.snapshot);
    state.online = true;
    showError("");
  } catch (error) {
    if (!(error instanceof Offline)) throw error;
    state.online = false;
    if (state.snapshot === null) showError(t("unreachable"));
  }
}

async function reloadEntries() {
  const office = state.snapshot?.office.code;
  const mine = (await listEntries()).filter((entry) => entry.office === office);
  state.entries = new Map(mine.map((entry) => [entry.date, entry]));
}

async function askForBackgroundSync() {
  try {
    const registration = await navigator.serviceWorker?.getRegistration("/lapor");
    await registration?.sync?.register("lapor-send");
  } catch {
    // No background sync here: the online event and the next open send the entries.
  }
}

async function flush() {
  if (state.entries.size === 0) return;
  const outcome = await sendWaiting();
  if (outcome.stopped === "offline") state.online = false;
  if (outcome.stopped === "unauthorized") showError(t("tokenRefused"));
  if (outcome.sent > 0) state.online = true;
  // The worker may have sent some (background sync): what it learnt is in the snapshot.
  state.snapshot = (await getValue("snapshot")) ?? state.snapshot;
  await reloadEntries();
}

// Showing it

function countText(count) {
  return count ? number(count.recordings) : t("noCount");
}

function element(tag, props = {}, ...children) {
  const made = Object.assign(document.createElement(tag), props);
  made.append(...children.filter((child) => child !== null));
  return made;
}

function button(label, onClick, className = "") {
  const made = element("button", { type: "button", textContent: label, className });
  made.addEventListener("click", onClick);
  return made;
}

function dayRow(date, today, editable) {
  const entry = state.entries.get(date);
  const count = state.snapshot.counts[date];
  const label = day(date, { weekday: "short", day: "numeric", month: "short" });
  const row = element("li", { className: "day" });
  row.dataset.testid = `day-${date}`;
  row.dataset.date = date;
  const head = element(
    "div",
    { className: "day-head" },
    element("span", { className: "day-date", textContent: date === today ? `${label} · ${t("today")}` : label }),
    element("span", {
      className: "day-value",
      textContent: entry?.state === "waiting" ? number(entry.recordings) : countText(count),
    }),
  );
  if (entry?.state === "waiting") {
    head.append(element("span", { className: "badge waiting", textContent: t("waiting") }));
  }
  if (editable) {
    const edit = button(t("edit"), () => select(date, true), "link");
    edit.setAttribute("aria-label", `${t("edit")}: ${day(date)}`);
    head.append(edit);
  }
  row.append(head);
  if (count?.note && entry?.state !== "waiting") {
    row.append(element("p", { className: "day-note muted", textContent: count.note }));
  }
  if (entry?.state === "refused") {
    row.append(
      element(
        "div",
        { className: "problem", role: "alert" },
        element("strong", { textContent: `${t("refused")}: ` }),
        element("span", { className: "detail", textContent: entry.detail }),
        element("p", { textContent: `${t("yours")}: ${number(entry.recordings)}` }),
        button(t("dismiss"), () => dismiss(entry)),
      ),
    );
  }
  if (entry?.state === "conflict") {
    const theirs = entry.server ? `${number(entry.server.recordings)}${entry.server.note ? ` (${entry.server.note})` : ""}` : t("none");
    const mine = `${number(entry.recordings)}${entry.note ? ` (${entry.note})` : ""}`;
    row.append(
      element(
        "div",
        { className: "problem conflict", role: "alert" },
        element("strong", { textContent: t("conflict") }),
        element("p", { className: "mine", textContent: `${t("yours")}: ${mine}` }),
        element("p", { className: "theirs", textContent: `${t("servers")}: ${theirs}` }),
        button(t("keepMine"), () => keepMine(entry), "primary"),
        button(t("keepServers"), () => keepServers(entry)),
      ),
    );
  }
  return row;
}

function render() {
  $("offline-banner").hidden = state.online;
  const signedIn = state.token !== null && state.snapshot !== null;
  $("office-view").hidden = !signedIn;
  $("sign-in").hidden = signedIn;
  if (!signedIn) return;
  const { office, target } = state.snapshot;
  const days = windowDays();
  $("office-name").textContent = office.name;
  $("office-code").textContent = office.code;
  $("today").textContent = day(days[0]);
  $("target").textContent = target === null ? t("noTarget") : number(target);
  if (!days.includes(state.selected)) state.selected = days[0];
  $("day").replaceChildren(
    ...days.map((date) =>
      element("option", {
        value: date,
        selected: date === state.selected,
        textContent: day(date, { weekday: "long", day: "numeric", month: "long" }),
      }),
    ),
  );
  // An entry whose day has left the window (it waited too long) stays in sight until the
  // server has answered it and the operator has seen the answer.
  const shown = [...new Set([...days, ...state.entries.keys()])].sort().reverse();
  $("days").replaceChildren(...shown.map((date) => dayRow(date, days[0], days.includes(date))));
}

function fillForm() {
  const entry = state.entries.get(state.selected);
  const count = state.snapshot.counts[state.selected];
  const shown = entry ?? count;
  $("recordings").value = shown ? String(shown.recordings) : "";
  $("note").value = shown?.note ?? "";
}

function select(date, focus = false) {
  state.selected = date;
  $("day").value = date;
  fillForm();
  formMessage("");
  if (focus) {
    $("entry-form").scrollIntoView({ block: "start" });
    $("recordings").focus();
  }
}

function formMessage(text, bad = false) {
  $("form-message").textContent = text;
  $("form-message").classList.toggle("bad", bad);
}

// What the operator does

async function submit(event) {
  event.preventDefault();
  const raw = $("recordings").value.trim();
  const recordings = Number(raw);
  if (!/^\d+$/.test(raw) || recordings > 100000) return formMessage(t("badCount"), true);
  const note = $("note").value === "" ? null : $("note").value;
  if (note !== null && note.length > 500) return formMessage(t("badNote"), true);
  const date = $("day").value;
  const office = state.snapshot.office.code;
  const key = entryKey(office, date);
  const earlier = await getEntry(key);
  // Read afresh: the worker may have sent an entry meanwhile and learnt a newer version.
  state.snapshot = (await getValue("snapshot")) ?? state.snapshot;
  const known = state.snapshot.counts[date];
  // The version this operator saw: after a conflict, the server's value they were shown.
  let base = known ? known.version : null;
  if (earlier?.state === "conflict") base = earlier.server ? earlier.server.version : null;
  else if (earlier) base = earlier.base;
  await putEntry({ key, office, date, recordings, note, base, state: "waiting", detail: null, server: null, at: Date.now() });
  await reloadEntries();
  render();
  formMessage(t("queued"));
  await askForBackgroundSync();
  await flush();
  render();
  const after = state.entries.get(date);
  if (!after) formMessage(t("sent"));
  else if (after.state === "waiting") formMessage(t("queued"));
  else formMessage("");
}

async function keepMine(entry) {
  const base = entry.server ? entry.server.version : null;
  await putEntry({ ...entry, base, state: "waiting", server: null, detail: null });
  await reloadEntries();
  render();
  await askForBackgroundSync();
  await flush();
  render();
}

async function keepServers(entry) {
  if (entry.server) {
    const { recordings, note, version } = entry.server;
    state.snapshot.counts[entry.date] = { recordings, note, version };
  } else {
    delete state.snapshot.counts[entry.date];
  }
  await setValue("snapshot", state.snapshot);
  await deleteEntry(entry.key);
  await reloadEntries();
  render();
  if (entry.date === state.selected) fillForm();
}

async function dismiss(entry) {
  await deleteEntry(entry.key);
  await reloadEntries();
  render();
}

async function signIn(token) {
  state.token = token.trim();
  await setValue("token", state.token);
  await setValue("snapshot", null);
  state.snapshot = null;
  await refresh();
  await reloadEntries();
  await flush();
  render();
  if (state.snapshot) select(state.selected);
}

// The sign-in link carries the token in the fragment, which no server sees; it leaves the
// address bar (and so the history) before anything else happens.
function tokenFromAddress() {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (!match) return null;
  history.replaceState(null, "", "/lapor");
  return decodeURIComponent(match[1]);
}

async function signOut(confirmed) {
  const unsent = (await listEntries()).length;
  if (unsent > 0 && !confirmed) {
    $("sign-out-text").textContent = t("signOutWarning", { n: unsent });
    $("sign-out-warning").hidden = false;
    return;
  }
  $("sign-out-warning").hidden = true;
  await forgetAll();
  Object.assign(state, { token: null, snapshot: null, entries: new Map(), selected: null });
  showError("");
  render();
}

function showLanguage() {
  translate();
  const toggle = $("lang-toggle");
  toggle.textContent = language() === "id" ? "English" : "Bahasa Indonesia";
  toggle.lang = language() === "id" ? "en" : "id";
}

function bind() {
  $("token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const typed = $("token-input").value;
    $("token-input").value = "";
    if (typed.trim()) await signIn(typed);
  });
  $("entry-form").addEventListener("submit", submit);
  $("day").addEventListener("change", () => select($("day").value));
  $("lang-toggle").addEventListener("click", () => {
    setLanguage(language() === "id" ? "en" : "id");
    showLanguage();
    render();
  });
  $("sign-out").addEventListener("click", () => signOut(false));
  $("sign-out-confirm").addEventListener("click", () => signOut(true));
  $("sign-out-cancel").addEventListener("click", () => {
    $("sign-out-warning").hidden = true;
  });
  window.addEventListener("online", async () => {
    state.online = true;
    if (state.token === null) return render();
    await flush();
    await refresh();
    render();
  });
  window.addEventListener("offline", () => {
    state.online = false;
    render();
  });
}

// An answer lost on a flaky link leaves the entry waiting with no online event to come:
// try again now and then while the browser believes it is online.
const RETRY_MS = 30_000;

async function retryWaiting() {
  const waiting = [...state.entries.values()].some((entry) => entry.state === "waiting");
  if (!waiting || state.token === null || navigator.onLine === false) return;
  await flush();
  render();
}

async function start() {
  showLanguage();
  bind();
  const linked = tokenFromAddress();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/lapor/sw.js", { scope: "/lapor", type: "module" }).catch(() => {});
  }
  // Entries in IndexedDB survive a closed browser; persistent storage keeps the browser
  // from clearing them when space runs short.
  navigator.storage?.persist?.().catch(() => {});
  if (linked) {
    await signIn(linked);
  } else {
    state.token = (await getValue("token")) ?? null;
    state.snapshot = (await getValue("snapshot")) ?? null;
    await reloadEntries();
    if (state.token !== null) {
      if (state.snapshot) {
        render();
        select(todayIn(state.snapshot.office.timezone));
      }
      // Whenever the page opens: first what waits, then what the server has now.
      await flush();
      await refresh();
    }
    render();
    if (state.snapshot) select(state.selected ?? todayIn(state.snapshot.office.timezone));
  }
  document.body.dataset.state = "ready";
  setInterval(retryWaiting, RETRY_MS);
}

start();
