// The documents panel: the list (paged through GET /v1/documents?offset&limit, with skipped files and why),
// the "ask only these" filter, delete with a confirmation, and drag-and-drop upload with a line per file.
import { $, el } from "./render.js";
import { api, ensureKey, forgetKey, uploadFile } from "./http.js";

const PAGE_SIZE = 50;

export const library = {
  docs: [], // summaries loaded so far
  skipped: [], // [{source, reason}]
  total: null, // the server's count of all documents, when it pages
  filter: new Set(), // doc_ids the next question is restricted to
  hooks: { open: () => {}, changed: () => {}, deleted: () => {} },
};

export const docType = (docId) => {
  const doc = library.docs.find((d) => d.doc_id === docId);
  return doc && typeof doc.type === "string" ? doc.type : null;
};

function docMeta(d) {
  const date = d.metadata && typeof d.metadata.date === "string" ? d.metadata.date : null;
  const pages = typeof d.pages === "number" ? `${d.pages} page${d.pages === 1 ? "" : "s"}` : null;
  const type = typeof d.type === "string" ? d.type.toUpperCase() : null;
  const size = pages ? null : typeof d.characters === "number" ? `${d.characters.toLocaleString("en")} characters` : null;
  return [type, pages, size, date, d.status || "indexed"].filter(Boolean).join(" · ");
}

function status(text, isError = false) {
  const node = $("doc-status");
  node.className = isError ? "status error" : "status";
  node.textContent = text;
}

async function deleteDocument(d, item) {
  const key = await ensureKey(`Deleting “${d.title || d.doc_id}” needs the server's API key.`);
  if (!key) return status("Not deleted: deleting needs the server's API key.", true);
  try {
    await api(`/v1/documents/${encodeURIComponent(d.doc_id)}`, { method: "DELETE", headers: { Authorization: `Bearer ${key}` } });
  } catch (err) {
    if (err.status === 401) forgetKey();
    const why = err.status === 401 ? "the API key was not accepted; try again to enter it anew" : err.message;
    item.querySelector(".confirm")?.remove();
    return status(`Could not delete “${d.title || d.doc_id}”: ${why}`, true);
  }
  library.filter.delete(d.doc_id);
  status(`Deleted “${d.title || d.doc_id}”.`);
  library.hooks.deleted(d.doc_id);
  await loadDocuments();
  $("library-title").focus(); // the deleted row (and its focused button) is gone
}

function confirmDelete(d, item, trigger) {
  if (item.querySelector(".confirm")) return;
  const cancel = el("button", { type: "button", class: "button ghost small", onclick: () => { box.remove(); trigger.focus(); } }, "Cancel");
  const box = el("div", { class: "confirm", role: "group", "aria-label": "Confirm the deletion" },
    el("p", {}, `Delete “${d.title || d.doc_id}” from the index? Questions will no longer find it.`),
    el("div", { class: "confirm-actions" },
      el("button", { type: "button", class: "button danger small confirm-delete", onclick: () => deleteDocument(d, item) }, "Delete"),
      cancel));
  item.append(box);
  cancel.focus();
}

function docItem(d) {
  const title = d.title || d.doc_id;
  const item = el("li", { class: "doc-item", "data-doc-id": d.doc_id });
  const pick = el("input", { type: "checkbox", class: "doc-pick", "aria-label": `Ask only within “${title}”`,
    title: "Ask only within the checked documents", checked: library.filter.has(d.doc_id),
    onchange: (e) => { if (e.currentTarget.checked) library.filter.add(d.doc_id); else library.filter.delete(d.doc_id); library.hooks.changed(); } });
  const del = el("button", { type: "button", class: "doc-delete", "aria-label": `Delete “${title}”`, title: "Delete this document",
    onclick: (e) => confirmDelete(d, item, e.currentTarget) }, "Delete");
  item.append(el("div", { class: "doc-row" }, pick,
    el("button", { type: "button", class: "doc-button", "data-doc-id": d.doc_id, onclick: (e) => library.hooks.open(d.doc_id, e.currentTarget) },
      el("span", { class: "doc-title" }, title), el("span", { class: "doc-meta" }, docMeta(d))),
    del));
  return item;
}

function skippedItem(s) {
  return el("li", { class: "doc-item skipped" },
    el("span", { class: "doc-title" }, s.source || "a file"),
    el("span", { class: "doc-meta" }, `skipped: ${s.reason || "no reason given"}`));
}

function renderList() {
  const n = library.docs.length;
  const total = typeof library.total === "number" ? library.total : n;
  $("doc-count").textContent = total
    ? `${total} document${total === 1 ? "" : "s"} in the corpus${n < total ? ` (${n} shown)` : ""}. Select one to read it; check some to ask only within them.`
    : "The corpus is empty. Add documents below.";
  $("doc-list").replaceChildren(...library.docs.map(docItem), ...library.skipped.map(skippedItem));
  $("more-docs").hidden = !(n < total);
}

// The first page of the list (again), or with more = true the next one.
export async function loadDocuments(more = false) {
  const offset = more ? library.docs.length : 0;
  let body;
  try {
    body = await api(`/v1/documents?offset=${offset}&limit=${PAGE_SIZE}`);
  } catch (err) {
    $("doc-count").textContent = `The list of documents could not be loaded: ${err.message}`;
    return;
  }
  const docs = Array.isArray(body) ? body : (body && body.documents) || [];
  library.docs = more ? [...library.docs, ...docs] : docs;
  library.total = body && typeof body.total === "number" ? body.total : null;
  library.skipped = body && Array.isArray(body.skipped) ? body.skipped : [];
  const known = new Set(library.docs.map((d) => d.doc_id));
  if (library.total === null || library.total === library.docs.length) {
    for (const id of [...library.filter]) if (!known.has(id)) library.filter.delete(id);
  }
  renderList();
  library.hooks.changed();
}

// ---- upload ---------------------------------------------------------------------------------------------

function uploadLine(file) {
  const bar = el("progress", { max: 100, value: 0, "aria-label": `Upload of ${file.name}` });
  const note = el("span", { class: "upload-note" }, "waiting…");
  const line = el("li", { class: "upload-line", "data-file": file.name }, el("span", { class: "upload-name" }, file.name), bar, note);
  return { line, bar, note };
}

function failure(status, body) {
  const detail = body && typeof body.detail === "string" ? body.detail : null;
  if (status === 401) return "the API key was not accepted";
  if (status === 409) return `already in the corpus${body && body.doc_id ? ` as “${body.doc_id}”` : ""}`;
  if (status === 0) return "the server could not be reached";
  return detail || `the server answered with status ${status}`;
}

// Upload each file in turn, one progress line each; errors are shown on the file's own line.
export async function uploadFiles(files) {
  const list = [...files];
  if (!list.length) return;
  const lines = list.map(uploadLine);
  const box = $("upload-list");
  for (const old of box.querySelectorAll(".upload-line.done, .upload-line.failed")) old.remove(); // earlier batches' results
  box.append(...lines.map((l) => l.line));
  let added = 0, last = null;
  for (const [i, file] of list.entries()) {
    const { line, bar, note } = lines[i];
    const key = await ensureKey(`Adding ${list.length === 1 ? "a document" : "documents"} needs the server's API key.`);
    if (!key) {
      for (const l of lines.slice(i)) { l.note.textContent = "not uploaded: adding documents needs the API key"; l.line.classList.add("failed"); }
      break;
    }
    note.textContent = "uploading…";
    const { status: code, body } = await uploadFile(file, key, (f) => {
      bar.value = Math.round(f * 100);
      if (f >= 1) note.textContent = "indexing…";
    });
    if (code === 401) forgetKey();
    if (code >= 200 && code < 300 && body) {
      bar.value = 100;
      note.textContent = `indexed as “${body.title || body.doc_id}”`;
      line.classList.add("done");
      added += 1;
      last = body.doc_id;
    } else {
      note.textContent = `failed: ${failure(code, body)}`;
      line.classList.add("failed");
    }
  }
  if (added) {
    await loadDocuments();
    if (list.length === 1 && last) library.hooks.open(last, null);
  }
}

export function initLibrary(hooks) {
  Object.assign(library.hooks, hooks);
  const zone = $("drop-zone");
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("dragging"); });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  // a file dropped beside the zone must not replace the page (and the conversation) with the file itself
  for (const type of ["dragover", "drop"]) window.addEventListener(type, (e) => e.preventDefault());
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    if (e.dataTransfer && e.dataTransfer.files.length) uploadFiles(e.dataTransfer.files);
  });
  $("upload-file").addEventListener("change", (e) => {
    const input = e.currentTarget;
    uploadFiles(input.files).finally(() => { input.value = ""; });
  });
  $("more-docs").addEventListener("click", () => loadDocuments(true));
  $("forget-key").addEventListener("click", () => { forgetKey(); status("The API key is forgotten; the next upload or delete asks for it."); });
  loadDocuments();
}
