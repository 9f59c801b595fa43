// citeqa chat page: plain JavaScript modules, no build step, no third-party code, nothing inline (the page works
// under `script-src 'self'; style-src 'self'`). Text reaches the page only through text nodes (see render.js).
import { $, el, squash, appendMarked, citeRanges, renderDocument } from "./render.js";
import { api } from "./http.js";
import { library, docType, initLibrary } from "./library.js";

const HISTORY_TURNS = 4; // earlier questions sent with each question (oldest first)
const TOP_K = 5;

const state = { history: [], turns: 0, busy: false, texts: new Map(), opener: null, sourceRequests: 0 };

// ---- documents panel and source view -----------------------------------------------------------------------

function setPanelOpen(open) {
  document.body.classList.toggle("panel-open", open);
  $("show-docs").setAttribute("aria-expanded", String(open));
}

async function documentText(docId) {
  if (!state.texts.has(docId)) state.texts.set(docId, await api(`/v1/documents/${encodeURIComponent(docId)}`));
  return state.texts.get(docId);
}

const fileUrl = (docId, page) => `/v1/documents/${encodeURIComponent(docId)}/file${page ? `#page=${page}` : ""}`;

// Is this citation's document a PDF? From the list's `type`, else from the page label ("p. 3", "pp. 3–4").
function isPdf(c) {
  const type = docType(c.doc_id);
  if (type) return type === "pdf";
  return typeof c.location === "string" && /^pp?\. /.test(c.location);
}

// Where a citation points: the answer sentence's page when the cited passage holds it (a passage may span
// pp. 1–3 while its answer is on p. 2), else the passage's first page. focus = {doc_id, span, page, location}.
function place(c, focus) {
  if (c && c.highlight && focus && focus.doc_id === c.doc_id && typeof focus.page === "number") {
    return { page: focus.page, location: focus.location || `p. ${focus.page}` };
  }
  return c && typeof c.page === "number" ? { page: c.page, location: c.location || `p. ${c.page}` } : { page: null, location: c && c.location };
}

function pdfLink(c, focus) {
  const at = place(c, focus);
  if (at.page === null || !isPdf(c)) return null;
  return el("a", { class: "link pdf-link", href: fileUrl(c.doc_id, at.page), target: "_blank", rel: "noopener",
    "data-page": at.page }, `Open the PDF at ${at.location}`);
}

// Show a document in the source view; `cite` = {start, end, highlight, location, page} marks a passage,
// its answer sentence and, from `focus` (the answer: {doc_id, span, page, location}), the answer phrase.
async function openSource(docId, cite, opener, focus = null) {
  const request = ++state.sourceRequests; // a later click wins over a slower earlier fetch
  state.opener = opener || null;
  $("library").hidden = true;
  $("source").hidden = false;
  setPanelOpen(true);
  const text = $("source-text");
  $("source-title").textContent = "Loading…";
  $("source-meta").textContent = "";
  $("source-legend").hidden = true;
  $("source-actions").replaceChildren();
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
  const date = doc.metadata && typeof doc.metadata.date === "string" ? doc.metadata.date : null;
  const at = place(cite, focus);
  const where = cite ? at.location || `characters ${cite.start.toLocaleString("en")}–${cite.end.toLocaleString("en")}` : null;
  $("source-meta").textContent = [doc.doc_id, typeof doc.type === "string" ? doc.type.toUpperCase() : null, date, where]
    .filter(Boolean).join(" · ");
  if (doc.type === "pdf") {
    $("source-actions").append(el("a", { class: "link pdf-link", href: fileUrl(doc.doc_id, at.page), target: "_blank",
      rel: "noopener", "data-page": at.page }, at.page ? `Open the PDF at ${at.location}` : "Open the original PDF"));
  }
  $("source-legend").hidden = !cite;
  const span = focus && focus.doc_id === docId ? focus.span : null;
  $("legend-span").hidden = !span;
  const marks = renderDocument(text, doc, citeRanges(cite, span));
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

// ---- filter and examples -----------------------------------------------------------------------------------

function renderFilter() {
  const ids = [...library.filter];
  const note = $("filter-note");
  note.hidden = ids.length === 0;
  if (!ids.length) return;
  const titles = ids.map((id) => (library.docs.find((d) => d.doc_id === id) || {}).title || id);
  $("filter-text").textContent = `Searching only ${ids.length === 1 ? "“" + titles[0] + "”" : `${ids.length} documents: ${titles.map((t) => `“${t}”`).join(", ")}`}`;
}

function clearFilter() {
  library.filter.clear();
  for (const box of document.querySelectorAll(".doc-pick")) box.checked = false;
  renderFilter();
}

// GET /v1/examples -> {"examples": [{"question", "doc_id", "heading"}]}: drawn by the server from the corpus's
// own headings; none shown when there are none (or the server has no such route).
async function loadExamples() {
  let examples = [];
  try {
    const body = await api("/v1/examples");
    examples = (body && Array.isArray(body.examples) ? body.examples : []).filter((e) => e && typeof e.question === "string");
  } catch (err) {
    examples = [];
  }
  $("examples").replaceChildren(...examples.map((e) =>
    el("li", {}, el("button", { type: "button", class: "example", onclick: () => submitQuestion(e.question) }, e.question))));
  $("examples-title").hidden = examples.length === 0;
}

// ---- conversation ------------------------------------------------------------------------------------------

function citeButton(passage, label, focus) {
  const where = passage.location ? `, ${passage.location}` : "";
  return el("button", {
    type: "button", class: "cite", "data-rank": passage.rank,
    "aria-label": `Source ${passage.rank}: ${passage.title}${where}, open in the document`,
    onclick: (e) => openSource(passage.doc_id, passage, e.currentTarget, focus),
  }, label);
}

const ocrBadge = (on) => (on ? el("span", { class: "badge ocr-badge", title: "This text was read by OCR from a scanned page and may hold recognition errors" }, "OCR text") : null);

function renderContext(ctx) {
  if (!ctx || !ctx.used) return null;
  const added = (ctx.carried || []).join(" ");
  return el("p", { class: "context-note" },
    "Read as a follow-up to ", el("q", {}, ctx.previous || "the previous question"),
    added ? "; searched with " : ".", added ? el("q", {}, added) : null, added ? " added." : null);
}

function renderSpelling(spelling) {
  if (!spelling || typeof spelling.searched_for !== "string") return null;
  return el("p", { class: "spelling-note" }, "Searched for: ", el("q", {}, spelling.searched_for));
}

const CONFIDENCE = { likely: "likely right", uncertain: "uncertain", unlikely: "unlikely to be right" };

function renderConfidence(result) {
  if (typeof result.confidence !== "number") return null;
  const number = result.confidence.toFixed(2);
  const label = CONFIDENCE[result.confidence_label];
  return el("p", { class: `confidence${label ? ` confidence-${result.confidence_label}` : ""}` },
    label ? ["This answer is ", el("strong", {}, label), ` (confidence ${number})`] : `Confidence ${number}`);
}

function renderPassage(turnId, p, focus) {
  const body = el("p", { class: "card-text" });
  const span = focus && focus.doc_id === p.doc_id ? focus.span : null;
  const inside = span && span.start >= p.start && span.end <= p.end ? span : null;
  const ranges = p.highlight ? [{ start: p.highlight.start, end: p.highlight.end, kind: "answer" }] : [];
  if (inside) ranges.push({ start: inside.start, end: inside.end, kind: "span" });
  appendMarked(body, p.text, p.start, ranges);
  const meta = [p.location, p.date, typeof p.score === "number" ? `score ${p.score.toFixed(2)}` : null].filter(Boolean);
  return el("li", { class: p.highlight ? "card cited" : "card", id: `t${turnId}-p${p.rank}` },
    el("div", { class: "card-head" },
      citeButton(p, String(p.rank), focus),
      el("span", { class: "card-title" }, p.title || p.doc_id),
      ocrBadge(p.ocr),
      el("span", { class: "card-meta" }, meta.join(" · "))),
    body,
    el("div", { class: "card-actions" },
      el("button", { type: "button", class: "link", onclick: (e) => openSource(p.doc_id, p, e.currentTarget, focus) },
        "Show in the document"),
      pdfLink(p, focus)));
}

function renderAnswer(turnId, result) {
  const parts = [renderContext(result.context), renderSpelling(result.spelling)];
  const passages = result.passages || [];
  const answer = result.answer;
  const span = answer && answer.span && typeof answer.span.start === "number" ? answer.span : null;
  const focus = answer ? { doc_id: answer.doc_id, span, page: answer.page, location: answer.location } : null;
  if (answer) {
    const cited = passages.filter((p) => p.highlight);
    const quote = el("blockquote", { class: "answer-text" });
    appendMarked(quote, answer.text, answer.start, span ? [{ ...span, kind: "span" }] : []);
    const marks = cited.length ? cited : [{ ...answer, rank: "↗", highlight: answer }];
    quote.append(" ", ...marks.map((p) => citeButton(p, `[${p.rank}]`, focus)));
    parts.push(el("p", { class: "answer-label" }, "From ", el("cite", {}, answer.title),
      answer.location ? `, ${answer.location}` : null, " ", ocrBadge(answer.ocr)), quote, renderConfidence(result), pdfLink(answer, null));
  } else {
    parts.push(el("p", { class: "no-answer" }, "The documents don't answer this question.",
      passages.length ? "" : " No passage came close."));
  }
  if (passages.length) {
    parts.push(el("h3", { class: "small-heading" }, answer ? "Sources" : "Closest passages"));
    parts.push(el("ol", { class: "cards" }, passages.map((p) => renderPassage(turnId, p, focus))));
  }
  return parts.filter(Boolean);
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
  const docIds = library.filter.size ? [...library.filter] : null;
  try {
    const result = await api("/v1/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question, top_k: TOP_K, doc_ids: docIds, history: history.length ? history : null }),
    });
    answerBox.replaceChildren(...renderAnswer(turnId, result));
    state.history.push(question);
    $("announce").textContent = result.answer
      ? `Answer from ${result.answer.title}: ${squash(result.answer.text)}`
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

// ---- wiring ------------------------------------------------------------------------------------------------

function init() {
  const box = $("question");
  const grow = () => {
    box.style.height = "auto"; // CSSOM, allowed under style-src 'self'
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
  $("clear-filter").addEventListener("click", clearFilter);
  for (const b of document.querySelectorAll("[data-close-panel]")) b.addEventListener("click", closePanel);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.body.classList.contains("panel-open") && !$("key-dialog").open) closePanel();
  });
  initLibrary({
    open: (docId, opener) => openSource(docId, null, opener),
    changed: renderFilter,
    deleted: (docId) => {
      state.texts.delete(docId);
      if (!$("source").hidden) showLibrary();
    },
  });
  loadExamples();
}

init(); // modules run after the document is parsed
