// /: overview of recent jobs and datasets, and one click to train on demo data.

import { api } from "./api.js";
import { notice, part } from "./format.js";
import { datasetNames, showJobs } from "./jobs-table.js";
import { DEMO_REQUEST } from "./spec.js";

const RECENT = 8;

async function count(status) {
  return (await api(`/api/jobs?limit=1${status ? `&status=${status}` : ""}`)).total;
}

async function init() {
  const [{ datasets }, { jobs, total }, running, succeeded] = await Promise.all([
    api("/api/datasets"), api(`/api/jobs?limit=${RECENT}`), count("running"), count("succeeded"),
  ]);
  const registered = datasets.filter((item) => item.registered).length;
  part(document, "datasets").textContent = String(datasets.length);
  part(document, "datasets").title = `${registered} uploaded or registered`;
  part(document, "jobs-total").textContent = String(total);
  part(document, "jobs-running").textContent = String(running);
  part(document, "jobs-succeeded").textContent = String(succeeded);
  showJobs(document.querySelector("[data-jobs]"), jobs, datasetNames(datasets));
}

const trainDemo = part(document, "train-demo");
trainDemo.addEventListener("click", async () => {
  trainDemo.disabled = true;
  try {
    const { jobId } = await api("/api/train", {
      method: "POST", json: DEMO_REQUEST,
    });
    location.assign(`/jobs/${jobId}`);
  } catch (error) {
    notice(error.message);
    trainDemo.disabled = false;
  }
});

init().catch((error) => notice(error.message));
