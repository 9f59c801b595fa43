// HTTP for the page: JSON calls, uploads with progress, and the write key (asked for when a write is attempted,
// kept in sessionStorage only: it is gone when the tab closes).
import { $ } from "./render.js";

const KEY_NAME = "citeqa-api-key";

export class HttpError extends Error {
  constructor(status, body, message) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function errorText(status, body) {
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => (d && d.msg) || JSON.stringify(d)).join("; ");
  if (detail) return JSON.stringify(detail);
  return `the server answered with status ${status}`;
}

export async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new HttpError(0, null, "the server could not be reached. Is `qa serve` still running?");
  }
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null;
  }
  if (!response.ok) throw new HttpError(response.status, body, errorText(response.status, body));
  return body;
}

export const storedKey = () => sessionStorage.getItem(KEY_NAME);
export const forgetKey = () => sessionStorage.removeItem(KEY_NAME);

let asking = null; // the open dialog's answer: a second write while it is open waits for the same one

// The key from this session, or asked for in the key dialog; null when the user cancels.
export function ensureKey(reason) {
  const known = storedKey();
  if (known) return Promise.resolve(known);
  if (!asking) asking = askKey(reason).finally(() => { asking = null; });
  return asking;
}

function askKey(reason) {
  const dialog = $("key-dialog");
  const input = $("key-input");
  $("key-reason").textContent = reason;
  input.value = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const key = input.value.trim();
      input.value = "";
      if (dialog.returnValue !== "ok" || !key) return resolve(null);
      sessionStorage.setItem(KEY_NAME, key);
      resolve(key);
    }, { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  });
}

// POST one file to /v1/documents; onProgress(fraction) while its bytes go up. -> {status, body}
export function uploadFile(file, key, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/documents");
    xhr.setRequestHeader("Authorization", `Bearer ${key}`);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.upload.addEventListener("load", () => onProgress(1));
    xhr.addEventListener("load", () => resolve({ status: xhr.status, body: xhr.response }));
    xhr.addEventListener("error", () => resolve({ status: 0, body: null }));
    const data = new FormData();
    data.append("file", file);
    xhr.send(data);
  });
}
