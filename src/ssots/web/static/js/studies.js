// /studies: the studies, newest first, and the form that starts one (its defaults are
// ssots.tuning's, the same as `ssots tune`).

import { api } from "./api.js";
import { badge, dateTime, h, notice, number, part } from "./format.js";

const form = part(document, "study-form");

async function loadDatasets() {
  const items = (await api("/api/datasets")).datasets;
  const usable = items.filter((item) => item.trainable && (item.source === "demo" || item.registered));
  form.elements.dataset.replaceChildren(...usable.map((item) => h("option",
    { value: item.source === "demo" ? "demo" : item.id },
    item.source === "demo" ? `${item.name} (synthetic)` : `${item.name} (${item.rows} rows)`)));
}

function row(study) {
  return h("tr", { "data-study": study.id },
    h("td", { "data-label": "Study" }, h("a", { href: `/studies/${study.id}`, className: "mono" }, study.id)),
    h("td", { "data-label": "Status" }, badge(study.status)),
    h("td", { "data-label": "Objective" }, study.objective),
    h("td", { "data-label": "Dataset" }, study.dataset),
    h("td", { "data-label": "Trials", className: "num" }, `${study.finished_trials} / ${study.spec.trials}`),
    h("td", { "data-label": "Best", className: "num" }, number(study.best_value)),
    h("td", { "data-label": "Created", className: "nowrap" }, dateTime(study.created_at)));
}

async function loadStudies() {
  const { studies, total } = await api("/api/studies?limit=100");
  part(document, "count").textContent = `(${total})`;
  part(document, "studies").replaceChildren(...(studies.length ? studies.map(row)
    : [h("tr", {}, h("td", { colSpan: 7, className: "muted" }, "No studies yet."))]));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = Object.fromEntries(new FormData(form));
  const body = {
    dataset: values.dataset,
    strategy: values.strategy,
    objective: values.objective,
    trials: Number(values.trials),
    parallel: Number(values.parallel),
    epochs: Number(values.epochs),
  };
  if (values.timeout.trim()) body.timeout = values.timeout.trim();
  try {
    notice(null);
    const study = await api("/api/studies", { method: "POST", json: body });
    location.assign(`/studies/${study.id}`);
  } catch (error) {
    notice(error.message);
  }
});

Promise.all([loadDatasets(), loadStudies()]).catch((error) => notice(error.message));
