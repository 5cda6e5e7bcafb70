// /jobs/{id}: one job, finished or running, with its run settings.

import { api } from "./api.js";
import { dateTime, h, notice, part } from "./format.js";
import { JobView } from "./jobview.js";
import { TraderViews } from "./traderviews.js";

const root = document.querySelector("[data-job-view]");
const { jobId } = root.dataset;

function text(value) {
  if (value === null || value === undefined) return "–";
  return Array.isArray(value) ? value.join(", ") : String(value);
}

async function showSettings(job) {
  const names = Object.fromEntries((await api("/api/datasets")).datasets.map((d) => [d.id, d.name]));
  const entries = [
    ["dataset", names[job.spec.dataset] ?? job.spec.dataset],
    ...Object.entries(job.spec).filter(([key]) => key !== "dataset"),
    ["created", dateTime(job.created_at)], ["started", dateTime(job.started_at)],
    ["finished", dateTime(job.finished_at)], ["attempts", job.attempts],
  ];
  part(document, "settings").replaceChildren(...entries.map(([key, value]) =>
    h("div", {}, h("dt", {}, key.replaceAll("_", " ")), h("dd", {}, text(value)))));
}

const trader = new TraderViews(document.querySelector("[data-trader-views]"));

/** Once the job has succeeded: its test block's charts and trade list. */
function showTrades(job) {
  if (job.status !== "succeeded") return null;
  return trader.show(`/api/jobs/${job.id}`, `ssots-trades-${job.id}`);
}

function finished(job) {
  return Promise.all([showSettings(job), showTrades(job)]);
}

const view = new JobView(root, { onFinish: (job) => finished(job).catch((error) => notice(error.message)) });
view.show(jobId).then(finished).catch((error) => {
  notice(error.status === 404 ? `There is no job ${jobId}. See all jobs.` : error.message);
});
