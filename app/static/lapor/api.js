// The few calls Lapor makes, with the token in the Authorization header and nowhere else.

export class Offline extends Error {}

export async function call(token, method, path, { body, headers = {} } = {}) {
  // Known to be offline: a request would only fail, slowly on some phones.
  if (globalThis.navigator?.onLine === false) throw new Offline();
  let response;
  try {
    response = await fetch("/api/v1" + path, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new Offline();
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  return { status: response.status, data };
}

// Errors are problem+json: `detail` is the sentence to show.
export function detailOf(answer) {
  return answer.data?.detail ?? `HTTP ${answer.status}`;
}

export const countPath = (office, date) =>
  `/offices/${encodeURIComponent(office)}/counts/${date}`;
