// What the device keeps, in IndexedDB so that the page and the service worker share it: the
// token, the last answer from the server (to open offline), and the entries not yet
// accepted by the server, one per office and day.

const NAME = "lapor";
let opened = null;

function database() {
  opened ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(NAME, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore("entries", { keyPath: "key" });
      request.result.createObjectStore("kv");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opened;
}

async function run(storeName, mode, work) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(storeName, mode);
    const request = work(transaction.objectStore(storeName));
    transaction.oncomplete = () => resolve(request?.result);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

export const getValue = (key) => run("kv", "readonly", (s) => s.get(key));
export const setValue = (key, value) => run("kv", "readwrite", (s) => s.put(value, key));

export const entryKey = (office, date) => `${office}/${date}`;
export const listEntries = () => run("entries", "readonly", (s) => s.getAll());
export const getEntry = (key) => run("entries", "readonly", (s) => s.get(key));
export const putEntry = (entry) => run("entries", "readwrite", (s) => s.put(entry));
export const deleteEntry = (key) => run("entries", "readwrite", (s) => s.delete(key));

// Sign-out: nothing of this office stays on the device.
export async function forgetAll() {
  await run("entries", "readwrite", (s) => s.clear());
  await run("kv", "readwrite", (s) => s.clear());
}
