// Small DOM and formatting helpers shared by the pages. Text is always set as text, never
// as HTML: dataset names and messages come from users.

/**
 * Create an element: h("a", {href: "/jobs", className: "x"}, "text", child).
 * Properties starting with "data-" or "aria-" become attributes.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("data-") || key.startsWith("aria-") || key === "scope") {
      element.setAttribute(key, value);
    } else {
      element[key] = value;
    }
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

/** The element marked data-el="name" inside root. */
export function part(root, name) {
  return root.querySelector(`[data-el="${name}"]`);
}

/** A number with `digits` significant digits ("–" for null). */
export function number(value, digits = 4) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (Number.isInteger(value) && Math.abs(value) < 1e6) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e6)) return value.toExponential(2);
  return Number(value.toPrecision(digits)).toString();
}

/** A fraction as a percentage ("12.3%"). */
export function percent(value, digits = 1) {
  return value === null || value === undefined ? "–" : `${(value * 100).toFixed(digits)}%`;
}

/** Seconds as "1:05" or "1:02:05". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const total = Math.max(0, Math.floor(seconds));
  const [hours, minutes, secs] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  const pad = (n) => String(n).padStart(2, "0");
  return hours ? `${hours}:${pad(minutes)}:${pad(secs)}` : `${minutes}:${pad(secs)}`;
}

/** An ISO time as local date and time to the minute (the year only if it is not this one). */
export function dateTime(iso) {
  if (!iso) return "–";
  const moment = new Date(iso);
  const year = moment.getFullYear() === new Date().getFullYear() ? undefined : "numeric";
  return moment.toLocaleString(undefined, {
    year, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
}

/** Set a status badge's text and colour. */
export function setBadge(badge, status) {
  badge.textContent = status;
  badge.dataset.status = status;
}

/** A status badge element. */
export function badge(status) {
  const element = h("span", { className: "badge" });
  setBadge(element, status);
  return element;
}

/** Show a message in the page's alert area (or hide it with null). */
export function notice(message) {
  const area = document.getElementById("notice");
  area.hidden = !message;
  area.textContent = message ?? "";
}

/** A table's head and body from column titles and rows of cells (text or elements). */
export function fillTable(table, columns, rows) {
  const caption = table.querySelector("caption");
  table.replaceChildren(
    ...(caption ? [caption] : []),
    h("thead", {}, h("tr", {}, columns.map((title) => h("th", { scope: "col" }, title)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell, index) =>
      index === 0 ? h("th", { scope: "row" }, cell) : h("td", {}, cell))))),
  );
}
