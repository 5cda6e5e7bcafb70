// Talking to the REST API: JSON requests, uploads with progress, and Server-Sent Events
// read over fetch (so the stream can carry the API token and resume from an event id).

const TOKEN_KEY = "ssots.apiToken";
const RETRY_MS = 1000;

/** An answer of the API with a status >= 400; `detail` is its `detail` field. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : `request failed (${status})`);
    this.status = status;
    this.detail = detail;
  }
}

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Ask for the API token (the server has SSOTS_API_TOKEN set), keep it for this tab, reload. */
function askForToken() {
  const dialog = document.getElementById("token-dialog");
  if (dialog.open) return;
  dialog.addEventListener("close", () => {
    const token = dialog.querySelector("input").value.trim();
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token);
      location.reload();
    }
  }, { once: true });
  dialog.showModal();
}

async function failure(response) {
  if (response.status === 401) askForToken();
  let detail = response.statusText;
  try {
    detail = (await response.json()).detail ?? detail;
  } catch {
    // not JSON: keep the status text
  }
  return new ApiError(response.status, detail);
}

/**
 * Call the API and return its JSON answer (null for 204).
 * @param {string} path e.g. "/api/jobs"
 * @param {{method?: string, json?: unknown, signal?: AbortSignal}} options
 */
export async function api(path, { method = "GET", json, signal } = {}) {
  const headers = { Accept: "application/json", ...authHeaders() };
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, signal, body: json === undefined ? undefined : JSON.stringify(json),
  });
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

/**
 * POST a multipart form, reporting upload progress (fetch cannot), and return the JSON answer.
 * @param {string} path
 * @param {FormData} form
 * @param {(fraction: number) => void} onProgress
 */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    request.responseType = "json";
    for (const [name, value] of Object.entries(authHeaders())) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      if (request.status < 400) resolve(request.response);
      else {
        if (request.status === 401) askForToken();
        reject(new ApiError(request.status, request.response?.detail ?? request.statusText));
      }
    };
    request.onerror = () => reject(new ApiError(0, "the upload failed: is the server running?"));
    request.send(form);
  });
}

/** Split a text/event-stream buffer into complete events and the unfinished rest. */
function parseEvents(buffer) {
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop();
  const events = [];
  for (const block of blocks) {
    const event = { id: null, type: "message", data: "" };
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") event.id = value;
      else if (field === "event") event.type = value;
      else if (field === "data") event.data += event.data ? `\n${value}` : value;
    }
    if (event.data) events.push(event);
  }
  return { events, rest };
}

/**
 * Follow a Server-Sent Events stream until its `done` event or until `signal` aborts.
 * Resumes after `lastEventId` and, when the connection drops, reconnects with the id of
 * the last event received (the `Last-Event-ID` header, as EventSource would).
 * @param {string} path
 * @param {{lastEventId?: number, signal: AbortSignal, onEvent: (type: string, data: any) => void}} options
 */
export async function followEvents(path, { lastEventId = 0, signal, onEvent }) {
  let lastId = lastEventId;
  while (!signal.aborted) {
    try {
      const headers = { Accept: "text/event-stream", ...authHeaders() };
      if (lastId) headers["Last-Event-ID"] = String(lastId);
      const response = await fetch(path, { headers, signal });
      if (!response.ok) throw await failure(response);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const parsed = parseEvents(buffer + value);
        buffer = parsed.rest;
        for (const event of parsed.events) {
          if (event.id) lastId = Number(event.id);
          onEvent(event.type, JSON.parse(event.data));
          if (event.type === "done") return;
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status < 500) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

/**
 * Download what the API answers at `path` as a file, with the API token like every call:
 * the bytes are the API's own (the file name from its Content-Disposition).
 * @param {string} path e.g. "/api/jobs/ID/trades?format=csv"
 * @param {string} accept the media type asked for
 * @param {string} fallbackName the file name when the answer names none
 */
export async function download(path, accept, fallbackName) {
  const response = await fetch(path, { headers: { Accept: accept, ...authHeaders() } });
  if (!response.ok) throw await failure(response);
  const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "");
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: named?.[1] ?? fallbackName });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
