// /schedules: add a schedule; each schedule's next five fire times, pause/resume, run now,
// delete, and the history of its runs with their outcomes and promotion decisions.

import { api } from "./api.js";
import { badge, dateTime, h, notice, part } from "./format.js";

const REFRESH_MS = 5000;

function runRow(run) {
  const status = run.status === "queued" && run.job_status ? run.job_status : run.status;
  const job = run.job_id ? h("a", { href: `/jobs/${run.job_id}` }, run.job_id) : "–";
  const trigger = run.missed ? `${run.trigger} (+${run.missed} missed)` : run.trigger;
  return h("tr", { "data-run": String(run.id) },
    h("td", { "data-label": "Fire time", className: "nowrap" }, dateTime(run.fire_time)),
    h("td", { "data-label": "Trigger" }, trigger),
    h("td", { "data-label": "Status" }, badge(status)),
    h("td", { "data-label": "Job" }, job),
    h("td", { "data-label": "Version", className: "num" }, run.version == null ? "–" : `v${run.version}`),
    h("td", { "data-label": "Decision", "data-el": "decision" }, run.message || "–"));
}

function card(schedule, runs) {
  const action = (label, handler) => h("button", { className: "button", type: "button", onclick: handler }, label);
  const act = (promise) => promise.then(refresh).catch((error) => notice(error.message));
  const path = `/api/schedules/${schedule.id}`;
  const rule = schedule.promotion;
  return h("section", { className: "card", "data-schedule": schedule.name },
    h("div", { className: "card-head" },
      h("h2", {}, schedule.name),
      h("div", { className: "actions" },
        action("Run now", () => act(api(`${path}/run`, { method: "POST" }))),
        action(schedule.enabled ? "Pause" : "Resume",
          () => act(api(path, { method: "PATCH", json: { enabled: !schedule.enabled } }))),
        action("Delete", () => act(api(path, { method: "DELETE" }))))),
    h("p", {},
      h("code", {}, schedule.cron), ` in ${schedule.timezone} → model `,
      h("a", { href: `/models/${encodeURIComponent(schedule.model)}` }, schedule.model),
      `; after downtime: ${schedule.misfire}; promotion by ${rule.metric} (tie-break ${rule.tie_break}, margin ${rule.margin})`,
      schedule.enabled ? "" : " · paused"),
    h("h3", {}, "Next fire times"),
    h("ol", { "data-el": "upcoming" }, ...(schedule.next_fire_times.length
      ? schedule.next_fire_times.map((time) => h("li", {}, dateTime(time)))
      : [h("li", { className: "muted" }, "paused")])),
    h("h3", {}, "Runs"),
    h("div", { className: "table-wrap" }, h("table", { className: "table stack" },
      h("caption", { className: "sr-only" }, `Runs of ${schedule.name}, newest first`),
      h("thead", {}, h("tr", {}, ...["Fire time", "Trigger", "Status", "Job", "Version", "Decision"]
        .map((title) => h("th", { scope: "col" }, title)))),
      h("tbody", { "data-el": "runs" }, ...(runs.length ? runs.map(runRow)
        : [h("tr", {}, h("td", { colSpan: 6, className: "muted" }, "No runs yet."))])))));
}

async function refresh() {
  const { schedules } = await api("/api/schedules");
  const details = await Promise.all(schedules.map((s) => api(`/api/schedules/${s.id}`)));
  part(document, "schedules").replaceChildren(...(details.length
    ? details.map((detail) => card(detail, detail.runs))
    : [h("p", { className: "muted" }, "No schedules yet.")]));
}

function init() {
  const form = part(document, "schedule-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      await api("/api/schedules", {
        method: "POST",
        json: {
          name: data.get("name"), cron: data.get("cron"), timezone: data.get("timezone"),
          model: data.get("model"), misfire: data.get("misfire"),
          spec: { dataset: data.get("dataset") },
          promotion: { metric: data.get("metric"), margin: Number(data.get("margin") || 0) },
        },
      });
      form.reset();
      await refresh();
    } catch (error) {
      notice(error.message);
    }
  });
  refresh().catch((error) => notice(error.message));
  setInterval(() => refresh().catch(() => {}), REFRESH_MS);
}

init();
