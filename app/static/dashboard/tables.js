// Tables sortable by clicking their headers; each table's order is kept across redraws.

import { h } from "./dom.js";

const sorts = new Map(); // table id -> {key, dir}

/** The order a table starts in, until the reader clicks a header. */
export function defaultSort(tableId, key, dir = "asc") {
  if (!sorts.has(tableId)) sorts.set(tableId, { key, dir });
}

function toggleSort(tableId, key) {
  const current = sorts.get(tableId);
  const dir = current && current.key === key && current.dir === "asc" ? "desc" : "asc";
  sorts.set(tableId, { key, dir });
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
 * Rows carry data-code so tests and links can find them; cells carry their column's label,
 * which a narrow screen shows beside the value when each row becomes a card.
 */
export function sortableTable(tableId, testid, columns, rows, emptyText) {
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
  const sort = sorts.get(tableId);
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
      columns.map((column) => h("td", { class: column.numeric ? "num" : null, "data-label": column.label },
        column.cell(row)))))
    : h("tr", { class: "empty" }, h("td", { colspan: columns.length }, emptyText));
  return h("table", { class: `table table-${tableId}`, "data-testid": testid }, h("thead", {}, header), h("tbody", {}, body));
}

/** Table wrappers may scroll sideways; keep their position across redraws. */
export function saveInnerScroll(root) {
  const saved = new Map();
  root.querySelectorAll("[data-scroll-key]").forEach((el) => saved.set(el.dataset.scrollKey, el.scrollLeft));
  return saved;
}

export function restoreInnerScroll(root, saved) {
  root.querySelectorAll("[data-scroll-key]").forEach((el) => {
    if (saved.has(el.dataset.scrollKey)) el.scrollLeft = saved.get(el.dataset.scrollKey);
  });
}
