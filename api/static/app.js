// citeqa chat page: plain JavaScript, no build step, no third-party code.
// Safety rule: document text only ever reaches the page through text nodes (append(string), textContent);
// nothing here assigns innerHTML. Highlights are made by cutting the text at character offsets and wrapping
// the pieces in <mark> elements.
"use strict";

const HISTORY_TURNS = 4; // earlier questions sent with each question (oldest first)
const TOP_K = 5;

// Example questions for the default corpus; each is shown only when its document is in the corpus.
const EXAMPLES = [
  ["What is the Safe Third Country Agreement?", "zamani-guatemala-foreign-policy"],
  ["By how much did Guatemala agree to increase deportation flights?", "rubio-arevalo-meeting-feb-2025"],
  ["What does the US import from Guatemala?", "us-guatemala-relations-state-dept"],
  ["What new military command did Arévalo create to fight transnational crime?", "landau-arevalo-migration-drug-trafficking"],
  ["What is CICIG?", "us-strategy-for-central-america"],
];

const state = { history: [], turns: 0, busy: false, docs: [], texts: new Map(), opener: null, sourceRequests: 0 };
const $ = (id) => document.getElementById(id);

// el("p", {class: "x"}, "text", child) -> element; strings become text nodes.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

// ---- HTTP --------------------------------------------------------------------------------------------------

function errorText(status, body) {
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => (d && d.msg) || JSON.stringify(d)).join("; ");
  if (detail) return JSON.stringify(detail);
  return `the server answered with status ${status}`;
}

async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new Error("the server could not be reached. Is `qa serve` still running?");
  }
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null;
  }
  if (!response.ok) throw new Error(errorText(response.status, body));
  return body;
}

// ---- text with highlights ----------------------------------------------------------------------------------

// Pieces of text[0:len] cut at every range boundary: [{from, to, classes}], offsets relative to `base`.
function cut(text, base, ranges) {
  const points = new Set([0, text.length]);
  for (const r of ranges) {
    for (const p of [r.start - base, r.end - base]) if (p > 0 && p < text.length) points.add(p);
  }
  const sorted = [...points].sort((a, b) => a - b);
  const pieces = [];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const from = sorted[i], to = sorted[i + 1];
    const classes = ranges.filter((r) => r.start - base <= from && to <= r.end - base).map((r) => r.cls);
    pieces.push({ from, to, classes });
  }
  return pieces;
}

// Append `shown` (text of the same length as the original) to `parent`, marking the ranges.
// The innermost range wins the class: an answer sentence inside a passage is marked "answer".
function appendMarked(parent, shown, base, ranges, squash = false) {
  const marks = [];
  for (const piece of cut(shown, base, ranges)) {
    let text = shown.slice(piece.from, piece.to);
    if (squash) text = text.replace(/\s+/g, " ");
    if (!piece.classes.length) {
      parent.append(text);
      continue;
    }
    const mark = el("mark", { class: piece.classes[piece.classes.length - 1] }, text);
    parent.append(mark);
    marks.push(mark);
  }
  return marks;
}

// Many plain-text documents are hard-wrapped at ~80 columns. Replace those soft line breaks by spaces (same
// length, so offsets still hold) and keep real ones: blank lines, short lines, list items.
function unwrap(text) {
  const lines = text.split("\n");
  const lengths = lines.map((l) => l.length).filter((n) => n > 0).sort((a, b) => a - b);
  if (lengths.length < 8) return text;
  const width = lengths[Math.floor(lengths.length * 0.9)];
  const long = lengths.filter((n) => n >= width * 0.6).length;
  if (width > 110 || long / lengths.length < 0.6) return text;
  const out = [];
  lines.forEach((line, i) => {
    out.push(line);
    if (i === lines.length - 1) return;
    const next = lines[i + 1];
    const carriesOn = !/[.!?:;"”)\]]\s*$/.test(line) && /^\s*[a-z]/.test(next); // "The\nbilateral"
    const soft = (line.length >= width * 0.6 || carriesOn) && next.trim() !== "" && !/^\s*([-•*–]|\d+[.)])\s/.test(next);
    out.push(soft ? " " : "\n");
  });
  return out.join("");
}

// ---- documents panel ---------------------------------------------------------------------------------------

function docDate(meta) {
  return (meta && typeof meta.date === "string" && meta.date) || null;
}

function setPanelOpen(open) {
  document.body.classList.toggle("panel-open", open);
  $("show-docs").setAttribute("aria-expanded", String(open));
}

async function loadDocuments() {
  try {
    const body = await api("/v1/documents");
    state.docs = Array.isArray(body) ? body : (body && body.documents) || [];
  } catch (err) {
    $("doc-count").textContent = `The list of documents could not be loaded: ${err.message}`;
    return;
  }
  const n = state.docs.length;
  $("doc-count").textContent = n ? `${n} document${n === 1 ? "" : "s"} in the corpus. Select one to read it.`
    : "The corpus is empty. Add a document below.";
  $("doc-list").replaceChildren(...state.docs.map((d) => {
    const date = docDate(d.metadata);
    const meta = [date, typeof d.characters === "number" ? `${d.characters.toLocaleString("en")} characters` : null];
    return el("li", {},
      el("button", { type: "button", class: "doc-button", "data-doc-id": d.doc_id,
        onclick: (e) => openSource(d.doc_id, null, e.currentTarget) },
      el("span", { class: "doc-title" }, d.title || d.doc_id),
      el("span", { class: "doc-meta" }, meta.filter(Boolean).join(" · "))));
  }));
  renderExamples();
}

function renderExamples() {
  const ids = new Set(state.docs.map((d) => d.doc_id));
  const shown = EXAMPLES.filter(([, id]) => ids.has(id)).map(([q]) => q);
  $("examples").replaceChildren(...shown.map((q) =>
    el("li", {}, el("button", { type: "button", class: "example", onclick: () => submitQuestion(q) }, q))));
  $("examples-title").hidden = shown.length === 0;
}

async function documentText(docId) {
  if (!state.texts.has(docId)) state.texts.set(docId, await api(`/v1/documents/${encodeURIComponent(docId)}`));
  return state.texts.get(docId);
}

// Show a document in the source view; `cite` = {start, end, highlight} marks a passage and answer sentence.
async function openSource(docId, cite, opener) {
  const request = ++state.sourceRequests; // a later click wins over a slower earlier fetch
  state.opener = opener || null;
  $("library").hidden = true;
  $("source").hidden = false;
  setPanelOpen(true);
  const text = $("source-text");
  $("source-title").textContent = "Loading…";
  $("source-meta").textContent = "";
  $("source-legend").hidden = true;
  text.replaceChildren();
  let doc;
  try {
    doc = await documentText(docId);
  } catch (err) {
    if (request !== state.sourceRequests) return;
    $("source-title").textContent = "The document could not be opened";
    text.replaceChildren(el("p", { class: "error", role: "alert" }, err.message));
    return;
  }
  if (request !== state.sourceRequests) return;
  $("source-title").textContent = doc.title || doc.doc_id;
  const date = docDate(doc.metadata);
  const where = cite ? `characters ${cite.start.toLocaleString("en")}–${cite.end.toLocaleString("en")}` : null;
  $("source-meta").textContent = [doc.doc_id, date, where].filter(Boolean).join(" · ");
  const ranges = [];
  if (cite) {
    ranges.push({ start: cite.start, end: cite.end, cls: "passage" });
    if (cite.highlight) ranges.push({ start: cite.highlight.start, end: cite.highlight.end, cls: "answer" });
  }
  $("source-legend").hidden = !cite;
  const marks = appendMarked(text, unwrap(doc.text || ""), 0, ranges);
  $("source-title").focus({ preventScroll: true });
  if (marks.length) {
    // the passage's first line near the top; further down if that would leave the answer sentence below
    const answerMark = marks.find((m) => m.classList.contains("answer"));
    let top = marks[0].offsetTop - 24;
    if (answerMark && answerMark.offsetTop + answerMark.offsetHeight > top + text.clientHeight) {
      top = answerMark.offsetTop - text.clientHeight / 3;
    }
    text.scrollTop = Math.max(0, top);
  } else {
    text.scrollTop = 0;
  }
}

function showLibrary() {
  $("source").hidden = true;
  $("library").hidden = false;
  $("library-title").focus?.();
}

function closePanel() {
  setPanelOpen(false);
  if (state.opener && document.contains(state.opener)) state.opener.focus();
}

// ---- conversation ------------------------------------------------------------------------------------------

function citeButton(turnId, passage, label) {
  return el("button", {
    type: "button", class: "cite", "data-rank": passage.rank,
    "aria-label": `Source ${passage.rank}: ${passage.title}, open in the document`,
    onclick: (e) => openSource(passage.doc_id, passage, e.currentTarget),
  }, label);
}

function renderContext(ctx) {
  if (!ctx || !ctx.used) return null;
  const added = (ctx.carried || []).join(" ");
  return el("p", { class: "context-note" },
    "Read as a follow-up to ", el("q", {}, ctx.previous || "the previous question"),
    added ? "; searched with " : ".", added ? el("q", {}, added) : null, added ? " added." : null);
}

function renderPassage(turnId, p) {
  const body = el("p", { class: "card-text" });
  const ranges = p.highlight ? [{ start: p.highlight.start, end: p.highlight.end, cls: "answer" }] : [];
  appendMarked(body, p.text, p.start, ranges, true);
  const meta = [p.date, typeof p.score === "number" ? `score ${p.score.toFixed(2)}` : null].filter(Boolean);
  const card = el("li", { class: p.highlight ? "card cited" : "card", id: `t${turnId}-p${p.rank}` },
    el("div", { class: "card-head" },
      citeButton(turnId, p, String(p.rank)),
      el("span", { class: "card-title" }, p.title || p.doc_id),
      el("span", { class: "card-meta" }, meta.join(" · "))),
    body,
    el("div", { class: "card-actions" },
      el("button", { type: "button", class: "link", onclick: (e) => openSource(p.doc_id, p, e.currentTarget) },
        "Show in the document")));
  return card;
}

function renderAnswer(turnId, result) {
  const parts = [renderContext(result.context)];
  const passages = result.passages || [];
  if (result.answer) {
    const cited = passages.filter((p) => p.highlight);
    const quote = el("blockquote", { class: "answer-text" }, result.answer.text.replace(/\s+/g, " ").trim());
    const marks = cited.length ? cited : [{ ...result.answer, rank: "↗", highlight: result.answer }];
    quote.append(" ", ...marks.map((p) => citeButton(turnId, p, `[${p.rank}]`)));
    parts.push(el("p", { class: "answer-label" }, "From ", el("cite", {}, result.answer.title)), quote);
  } else {
    parts.push(el("p", { class: "no-answer" }, "The documents don't answer this question.",
      passages.length ? "" : " No passage came close."));
  }
  if (passages.length) {
    parts.push(el("h3", { class: "small-heading" }, result.answer ? "Sources" : "Closest passages"));
    parts.push(el("ol", { class: "cards" }, passages.map((p) => renderPassage(turnId, p))));
  }
  return parts;
}

async function submitQuestion(raw) {
  const question = (raw || "").trim();
  if (!question || state.busy) return;
  state.busy = true;
  $("ask").disabled = true;
  $("intro").hidden = true;
  $("new-chat").hidden = false;
  const turnId = ++state.turns;
  const answerBox = el("div", { class: "reply loading", "aria-busy": "true" },
    el("p", { class: "loading-text" }, el("span", { class: "spinner", "aria-hidden": "true" }), "Searching the documents…"));
  const turn = el("li", { class: "turn", id: `turn-${turnId}` },
    el("div", { class: "question" }, el("span", { class: "visually-hidden" }, "You asked: "), question),
    answerBox);
  $("conversation").append(turn);
  $("announce").textContent = "Searching the documents…";
  turn.scrollIntoView({ block: "start" });
  const history = state.history.slice(-HISTORY_TURNS);
  try {
    const result = await api("/v1/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question, top_k: TOP_K, doc_ids: null, history: history.length ? history : null }),
    });
    answerBox.replaceChildren(...renderAnswer(turnId, result).filter(Boolean));
    state.history.push(question);
    $("announce").textContent = result.answer
      ? `Answer from ${result.answer.title}: ${result.answer.text.replace(/\s+/g, " ")}`
      : `The documents don't answer this question. ${(result.passages || []).length} closest passages are listed.`;
  } catch (err) {
    answerBox.replaceChildren(el("p", { class: "error", role: "alert" }, `Could not answer: ${err.message}`));
  } finally {
    // the question at the top of the view, or the reply itself when a long question would push it out
    (turn.firstChild.offsetHeight > window.innerHeight / 3 ? answerBox : turn).scrollIntoView({ block: "start" });
    answerBox.classList.remove("loading");
    answerBox.removeAttribute("aria-busy");
    state.busy = false;
    $("ask").disabled = false;
  }
}

function newConversation() {
  state.history = [];
  $("conversation").replaceChildren();
  $("intro").hidden = false;
  $("new-chat").hidden = true;
  $("question").focus();
}

// ---- upload ------------------------------------------------------------------------------------------------

async function upload(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const status = $("upload-status");
  const file = $("upload-file").files[0];
  if (!file) {
    status.className = "status error";
    status.textContent = "Choose a file first.";
    return;
  }
  const data = new FormData();
  data.append("file", file);
  const title = $("upload-title").value.trim();
  if (title) data.append("title", title);
  const key = $("upload-key").value.trim();
  const headers = key ? { Authorization: `Bearer ${key}` } : {};
  status.className = "status";
  status.textContent = `Uploading and indexing ${file.name}…`;
  try {
    const doc = await api("/v1/documents", { method: "POST", body: data, headers });
    status.textContent = `Added “${doc.title || doc.doc_id}”.`;
    form.reset();
    state.texts.delete(doc.doc_id);
    await loadDocuments();
    openSource(doc.doc_id, null, null);
  } catch (err) {
    status.className = "status error";
    status.textContent = `Upload failed: ${err.message}`;
  }
}

// ---- wiring ------------------------------------------------------------------------------------------------

function init() {
  const box = $("question");
  const grow = () => {
    box.style.height = "auto";
    box.style.height = `${Math.min(box.scrollHeight, 200)}px`;
  };
  box.addEventListener("input", grow);
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("ask-form").requestSubmit();
    }
  });
  $("ask-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (state.busy || !box.value.trim()) return;
    const q = box.value;
    box.value = "";
    grow();
    submitQuestion(q);
  });
  $("new-chat").addEventListener("click", newConversation);
  $("show-docs").addEventListener("click", () => {
    showLibrary();
    setPanelOpen(!document.body.classList.contains("panel-open"));
  });
  $("source-back").addEventListener("click", showLibrary);
  for (const b of document.querySelectorAll("[data-close-panel]")) b.addEventListener("click", closePanel);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.body.classList.contains("panel-open")) closePanel();
  });
  $("upload-form").addEventListener("submit", upload);
  loadDocuments();
}

document.addEventListener("DOMContentLoaded", init);
