// Every string the page shows, in Bahasa Indonesia (the default) and English, and the
// number and date formats of each language.

const STRINGS = {
  id: {
    tagline: "Perekaman e-KTP",
    offline: "Luring: entri disimpan di perangkat ini dan dikirim saat sambungan kembali.",
    signInTitle: "Masuk",
    signInText: "Pindai kode QR di lembar kantor Anda dengan kamera ponsel, atau ketik token kantor.",
    tokenLabel: "Token kantor",
    signIn: "Masuk",
    officeCode: "Kode kantor",
    today: "Hari ini",
    target: "Target hari ini",
    noTarget: "belum ditetapkan",
    entryTitle: "Isi laporan",
    day: "Tanggal",
    recordings: "Jumlah perekaman",
    note: "Catatan",
    send: "Kirim",
    daysTitle: "Hari-hari yang masih bisa diubah",
    noCount: "belum dilaporkan",
    edit: "Ubah",
    waiting: "Menunggu",
    refused: "Ditolak",
    conflict: "Berbeda dengan server",
    yours: "Nilai Anda",
    servers: "Nilai di server",
    none: "tidak ada",
    keepMine: "Pakai nilai saya",
    keepServers: "Pakai nilai server",
    dismiss: "Hapus entri ini",
    signOut: "Keluar",
    signOutAnyway: "Tetap keluar",
    cancel: "Batal",
    signOutWarning: "Entri yang belum sampai di server: {n}. Jika keluar sekarang, entri itu hilang.",
    badCount: "Jumlah perekaman harus bilangan bulat dari 0 sampai 100.000.",
    badNote: "Catatan paling panjang 500 karakter.",
    queued: "Tersimpan di perangkat, menunggu sambungan.",
    sent: "Terkirim.",
    tokenRefused: "Token ditolak oleh server. Minta token baru ke dinas, lalu masuk lagi.",
    notOffice: "Token ini bukan token kantor: Lapor hanya untuk kantor perekaman.",
    unreachable: "Server tidak dapat dihubungi; data yang tampil adalah yang terakhir diterima.",
    serverError: "Server menjawab {status}: {detail}",
  },
  en: {
    tagline: "e-KTP recording",
    offline: "Offline: entries are kept on this device and sent when the connection returns.",
    signInTitle: "Sign in",
    signInText: "Scan the QR code on your office's sheet with the phone's camera, or type the office token.",
    tokenLabel: "Office token",
    signIn: "Sign in",
    officeCode: "Office code",
    today: "Today",
    target: "Today's target",
    noTarget: "not set",
    entryTitle: "Report",
    day: "Date",
    recordings: "Recordings",
    note: "Note",
    send: "Send",
    daysTitle: "Days that can still be changed",
    noCount: "not reported",
    edit: "Edit",
    waiting: "Waiting",
    refused: "Refused",
    conflict: "Differs from the server",
    yours: "Your value",
    servers: "Server's value",
    none: "none",
    keepMine: "Keep mine",
    keepServers: "Keep the server's",
    dismiss: "Discard this entry",
    signOut: "Sign out",
    signOutAnyway: "Sign out anyway",
    cancel: "Cancel",
    signOutWarning: "Entries not yet on the server: {n}. Signing out now loses them.",
    badCount: "Recordings must be a whole number from 0 to 100,000.",
    badNote: "A note is at most 500 characters.",
    queued: "Kept on this device, waiting for a connection.",
    sent: "Sent.",
    tokenRefused: "The server refused the token. Ask the Dinas for a new one, then sign in again.",
    notOffice: "This is not an office token: Lapor is for recording offices.",
    unreachable: "The server cannot be reached; what is shown is what was last received.",
    serverError: "The server answered {status}: {detail}",
  },
};

const LOCALES = { id: "id-ID", en: "en-GB" };
const KEY = "lapor.lang";

export function language() {
  return localStorage.getItem(KEY) === "en" ? "en" : "id";
}

export function setLanguage(lang) {
  localStorage.setItem(KEY, lang);
}

export function t(key, values = {}) {
  const text = STRINGS[language()][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

export function number(value) {
  return new Intl.NumberFormat(LOCALES[language()]).format(value);
}

// A calendar day (YYYY-MM-DD) written out; read at noon UTC so no timezone moves it.
export function day(iso, options = { weekday: "long", day: "numeric", month: "long", year: "numeric" }) {
  const [y, m, d] = iso.split("-").map(Number);
  return new Intl.DateTimeFormat(LOCALES[language()], { ...options, timeZone: "UTC" }).format(
    new Date(Date.UTC(y, m - 1, d, 12)),
  );
}

// Every element with data-i18n gets its string.
export function translate(root = document) {
  document.documentElement.lang = language();
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
}
