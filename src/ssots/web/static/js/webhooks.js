// /webhooks: subscribe a URL (the secret is shown once), test, rotate, delete, and every
// delivery with its attempts (status, latency) and a redeliver button.

import { api } from "./api.js";
import { badge, dateTime, h, notice, part } from "./format.js";

const REFRESH_MS = 3000;

function showSecret(id, secret) {
  const box = part(document, "secret");
  box.hidden = false;
  box.replaceChildren(
    `Secret of ${id} (shown this once; keep it to verify deliveries): `,
    h("code", { "data-el": "secret-value" }, secret));
}

function hookRow(hook) {
  const action = (label, handler) => h("button", { className: "button", type: "button", onclick: handler }, label);
  const act = (promise) => promise.then(refresh).catch((error) => notice(error.message));
  const path = `/api/webhooks/${hook.id}`;
  return h("tr", { "data-webhook": hook.id },
    h("td", { "data-label": "Id" }, hook.id),
    h("td", { "data-label": "URL", className: "clip", title: hook.url }, hook.url),
    h("td", { "data-label": "Events" }, hook.events.join(", ")),
    h("td", { "data-label": "State" }, hook.enabled ? "enabled" : `disabled: ${hook.disabled_reason}`),
    h("td", { "data-label": "Actions" }, h("div", { className: "actions wrap" },
      action("Send test", () => act(api(`${path}/test`, { method: "POST" }))),
      action("Rotate secret", () => act(api(`${path}/rotate`, { method: "POST" })
        .then((rotated) => showSecret(rotated.id, rotated.secret)))),
      action("Delete", () => act(api(path, { method: "DELETE" }))))));
}

function deliveryRow(delivery) {
  const attempts = delivery.log.map((a) => `${a.status ?? "error"} (${Math.round(a.latency_ms)} ms)`).join(", ");
  const redeliver = h("button", {
    className: "button", type: "button",
    onclick: () => api(`/api/webhooks/deliveries/${delivery.id}/redeliver`, { method: "POST" })
      .then(refresh).catch((error) => notice(error.message)),
  }, "Redeliver");
  return h("tr", { "data-delivery": delivery.id },
    h("td", { "data-label": "Delivery", className: "clip", title: delivery.id }, delivery.id),
    h("td", { "data-label": "Event" }, delivery.event_type),
    h("td", { "data-label": "Status" }, badge(delivery.status)),
    h("td", { "data-label": "Attempts", "data-el": "attempts" }, attempts || "–"),
    h("td", { "data-label": "Created", className: "nowrap" }, dateTime(delivery.created_at)),
    h("td", { "data-label": "Actions" }, redeliver));
}

async function refresh() {
  const { webhooks } = await api("/api/webhooks");
  part(document, "webhooks").replaceChildren(...(webhooks.length ? webhooks.map(hookRow)
    : [h("tr", {}, h("td", { colSpan: 5, className: "muted" }, "No webhooks yet."))]));
  const lists = await Promise.all(webhooks.map((hook) => api(`/api/webhooks/${hook.id}/deliveries`)));
  const deliveries = lists.flatMap((list) => list.deliveries)
    .sort((a, b) => b.created_at.localeCompare(a.created_at));
  part(document, "deliveries").replaceChildren(...(deliveries.length ? deliveries.map(deliveryRow)
    : [h("tr", {}, h("td", { colSpan: 6, className: "muted" }, "No deliveries yet."))]));
}

function init() {
  const form = part(document, "webhook-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      const hook = await api("/api/webhooks", {
        method: "POST", json: { url: data.get("url"), events: data.getAll("events") },
      });
      showSecret(hook.id, hook.secret);
      form.querySelector("input[name=url]").value = "";
      await refresh();
    } catch (error) {
      notice(error.message);
    }
  });
  refresh().catch((error) => notice(error.message));
  setInterval(() => refresh().catch(() => {}), REFRESH_MS);
}

init();
