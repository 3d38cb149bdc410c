// localStorage that may be disabled: the page still works, it just forgets on reload.

export function readStored(key) {
  try {
    return localStorage.getItem(key);
  } catch (err) {
    return null;
  }
}

export function writeStored(key, value) {
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch (err) {
    // Not persisted; the caller keeps the value for this page.
  }
}
