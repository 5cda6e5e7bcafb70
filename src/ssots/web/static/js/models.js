// /models: every registered model with its versions and aliases.

import { api } from "./api.js";
import { dateTime, h, notice, part } from "./format.js";

function aliasList(aliases) {
  const entries = Object.entries(aliases ?? {});
  return entries.length ? entries.map(([alias, version]) => `${alias} → v${version}`).join(", ") : "–";
}

async function init() {
  const { models } = await api("/api/models");
  part(document, "models").replaceChildren(...(models.length
    ? models.map((model) => h("tr", { "data-model": model.name },
      h("td", { "data-label": "Model" }, h("a", { href: `/models/${encodeURIComponent(model.name)}` }, model.name)),
      h("td", { "data-label": "Description", className: "clip", title: model.description }, model.description || "–"),
      h("td", { "data-label": "Versions", className: "num" }, String(model.versions)),
      h("td", { "data-label": "Latest", className: "num" }, model.latest_version == null ? "–" : `v${model.latest_version}`),
      h("td", { "data-label": "Aliases" }, aliasList(model.aliases)),
      h("td", { "data-label": "Created", className: "nowrap" }, dateTime(model.created_at))))
    : [h("tr", {}, h("td", { colSpan: 6, className: "muted" }, "No models registered yet."))]));
}

init().catch((error) => notice(error.message));
