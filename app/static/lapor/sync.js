// Sending the waiting entries, from the page or from the service worker (background sync).
// Each PUT carries a precondition: If-None-Match: * for a day the operator saw empty, else
// If-Match of the version the operator saw. So a resend after a lost answer can never make a
// second revision: it gets 412, and a 412 whose server value is the entry's own means the
// first send arrived.

import { call, countPath, detailOf, Offline } from "./api.js";
import { deleteEntry, getValue, listEntries, putEntry, setValue } from "./store.js";

const RETRY_LATER = new Set([408, 425, 429, 500, 502, 503, 504]);

function same(entry, count) {
  return count !== null && count.recordings === entry.recordings && (count.note ?? null) === entry.note;
}

// The server's count for the day as last known (null: none), kept for the next offline open.
async function remember(office, date, count) {
  const snapshot = await getValue("snapshot");
  if (snapshot?.office?.code !== office) return;
  if (count === null) delete snapshot.counts[date];
  else snapshot.counts[date] = { recordings: count.recordings, note: count.note, version: count.version };
  await setValue("snapshot", snapshot);
}

async function sendOne(token, entry) {
  const headers = entry.base === null ? { "If-None-Match": "*" } : { "If-Match": `"${entry.base}"` };
  const path = countPath(entry.office, entry.date);
  const answer = await call(token, "PUT", path, {
    body: { recordings: entry.recordings, note: entry.note },
    headers,
  });
  if (answer.status === 200 || answer.status === 201) {
    await remember(entry.office, entry.date, answer.data);
    await deleteEntry(entry.key);
    return "sent";
  }
  if (answer.status === 412) {
    const current = await call(token, "GET", path);
    if (current.status !== 200 && current.status !== 404) return current.status === 401 ? "unauthorized" : "later";
    const server = current.status === 200 ? current.data : null;
    await remember(entry.office, entry.date, server);
    if (same(entry, server)) {
      await deleteEntry(entry.key);
      return "sent";
    }
    await putEntry({ ...entry, state: "conflict", server, detail: detailOf(answer) });
    return "conflict";
  }
  if (answer.status === 401) return "unauthorized";
  if (RETRY_LATER.has(answer.status)) return "later";
  await putEntry({ ...entry, state: "refused", detail: detailOf(answer), server: null });
  return "refused";
}

async function sendAll() {
  const token = await getValue("token");
  const outcome = { sent: 0, stopped: null };
  if (!token) return outcome;
  const waiting = (await listEntries()).filter((entry) => entry.state === "waiting");
  waiting.sort((a, b) => a.at - b.at);
  for (const entry of waiting) {
    let result;
    try {
      result = await sendOne(token, entry);
    } catch (error) {
      if (error instanceof Offline) return { ...outcome, stopped: "offline" };
      throw error;
    }
    if (result === "sent") outcome.sent += 1;
    if (result === "unauthorized" || result === "later") return { ...outcome, stopped: result };
  }
  return outcome;
}

// One sender at a time across the page's tabs and the worker (the preconditions make a
// race harmless; the lock only saves the requests).
export function sendWaiting() {
  if (globalThis.navigator?.locks) {
    return navigator.locks.request("lapor-send", sendAll);
  }
  return sendAll();
}
