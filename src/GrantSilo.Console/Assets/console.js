// The GrantSilo console's only script: the live inbox, live task trees and the overview's chart refresh.
// Everything it shows is inserted as text (textContent), never as markup, so nothing an agent writes can run here.
"use strict";

(function () {
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function fact(list, term, value, testId) {
    list.appendChild(el("dt", null, term));
    const dd = el("dd");
    if (value instanceof Node) dd.appendChild(value); else dd.textContent = value;
    if (testId) dd.dataset.testid = testId;
    list.appendChild(dd);
  }

  function left(expiresAt) {
    const ms = Date.parse(expiresAt) - Date.now();
    if (ms <= 0) return "timed out";
    const s = Math.floor(ms / 1000);
    return Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
  }

  // ---- Approvals inbox ----
  function inbox(list) {
    const state = document.getElementById("inbox-state");
    const empty = document.getElementById("inbox-empty");
    const template = document.getElementById("decide-form");
    const cards = new Map();

    function refreshEmpty() {
      const waiting = Array.from(cards.values()).filter(c => c.dataset.status === "Pending").length;
      empty.hidden = waiting !== 0;
    }

    function render(a) {
      const card = el("li", "card approval");
      card.dataset.approval = a.approvalId;
      card.dataset.status = a.status;
      card.setAttribute("aria-labelledby", "h-" + a.approvalId);
      const heading = el("h2", null, a.action + " on " + a.resourceType + ":" + a.resourcePath);
      heading.id = "h-" + a.approvalId;
      card.appendChild(heading);
      const status = el("p", "badge status", a.status);
      status.dataset.testid = "approval-status";
      card.appendChild(status);
      const facts = el("dl", "facts");
      fact(facts, "Action", a.action);
      fact(facts, "Resource", a.resourceType + ":" + a.resourcePath + " (" + a.classification + ")", "resource");
      fact(facts, "Credential", a.credentialId, "credential");
      const chain = el("span");
      (a.taskChain || []).forEach((id, i) => {
        if (i > 0) chain.appendChild(document.createTextNode(" → "));
        const link = el("a", null, id);
        link.href = "/console/tasks?id=" + encodeURIComponent(a.taskChain[0]);
        chain.appendChild(link);
      });
      if (a.chainProblem) chain.appendChild(el("span", "muted", " (" + a.chainProblem + ")"));
      fact(facts, "Task chain", chain, "chain");
      fact(facts, "Agent", a.agent, "agent");
      fact(facts, "Person", a.person, "person");
      fact(facts, "Asked by policy", (a.policies || []).join(", ") + " (policy version " + a.policyVersion + ")", "policies");
      fact(facts, "Requested", new Date(a.requestedAt).toISOString());
      const countdown = el("span", "countdown", left(a.expiresAt));
      countdown.dataset.expires = a.expiresAt;
      countdown.setAttribute("aria-live", "off");
      fact(facts, "Times out in", countdown, "countdown");
      card.appendChild(facts);

      const purpose = el("div", "untrusted");
      purpose.appendChild(el("span", "untrusted-label", "Purpose, written by the agent side (untrusted: never used to decide)"));
      const text = el("p", null, a.chainProblem && a.purpose == null ? "(not readable: the task is not yours to read)" : a.purpose == null || a.purpose === "" ? "(none given)" : a.purpose);
      text.dataset.testid = "purpose";
      purpose.appendChild(text);
      card.appendChild(purpose);

      if (a.status === "Pending" && template) {
        const form = template.content.firstElementChild.cloneNode(true);
        form.querySelector("input[name=approvalId]").value = a.approvalId;
        form.querySelector(".approve").setAttribute("aria-label", "Approve " + a.action + " on " + a.resourceType + ":" + a.resourcePath);
        form.querySelector(".deny").setAttribute("aria-label", "Deny " + a.action + " on " + a.resourceType + ":" + a.resourcePath);
        card.appendChild(form);
      } else if (a.status !== "Pending") {
        card.appendChild(el("p", "muted", (a.decidedBy ? "Decided by " + a.decidedBy : "Resolved") + (a.note ? ": " + a.note : "")));
      }
      return card;
    }

    function upsert(a) {
      const card = render(a);
      const old = cards.get(a.approvalId);
      if (old) old.replaceWith(card); else list.prepend(card);
      cards.set(a.approvalId, card);
      refreshEmpty();
    }

    const source = new EventSource(list.dataset.stream);
    const live = () => { state.textContent = "Live: new step-up requests appear here as they arrive."; };
    source.onopen = live;
    source.addEventListener("ready", live);
    source.onerror = () => { state.textContent = "The live inbox lost its connection; reconnecting… (sign in again if your session ended)"; };
    const handle = e => upsert(JSON.parse(e.data));
    source.addEventListener("pending", handle);
    source.addEventListener("requested", handle);
    source.addEventListener("resolved", handle);
    refreshEmpty();

    setInterval(() => {
      document.querySelectorAll(".countdown[data-expires]").forEach(c => { c.textContent = left(c.dataset.expires); });
    }, 1000);
  }

  // ---- A live task tree ----
  function tree(root) {
    const state = document.getElementById("tree-state");
    const source = new EventSource(root.dataset.stream);
    source.onopen = () => { state.textContent = "Live: states change here as they happen."; };
    source.onerror = () => { state.textContent = "Live updates lost their connection; reconnecting…"; };
    source.addEventListener("tree", e => {
      const nodes = JSON.parse(e.data);
      let unknown = 0;
      nodes.forEach(n => {
        const item = root.querySelector('li[data-node="' + CSS.escape(n.taskId) + '"]');
        if (!item) { unknown++; return; }
        item.dataset.status = n.status;
        item.querySelector('[data-field="status"]').textContent = n.status;
        item.querySelector('[data-field="cascade"]').textContent = n.pendingCascade > 0 ? n.pendingCascade + " cascade step(s) pending" : "";
        if (n.credentials) {
          // Re-read after the node ended: a credential no longer listed has ended too.
          const now = new Map(n.credentials.map(c => [c.credentialId, c.status]));
          item.querySelectorAll(':scope > .node [data-credential]').forEach(li => {
            li.querySelector('[data-field="credential-status"]').textContent = now.get(li.dataset.credential) ?? "Ended";
          });
        }
        if (["Revoked", "Completed", "Expired"].includes(n.status)) {
          item.querySelectorAll(":scope > .node > .actions > *").forEach(a => a.remove());
        }
      });
      const revoked = nodes.filter(n => n.status === "Revoked").length;
      state.textContent = "Live: " + nodes.length + " task(s), " + revoked + " revoked" + (unknown ? "; " + unknown + " new task(s): reload to see them" : "") + ".";
    });
  }

  // ---- Overview chart ----
  function chart(box) {
    setInterval(async () => {
      const response = await fetch(box.dataset.refresh, { credentials: "same-origin" });
      if (response.ok && response.headers.get("content-type")?.startsWith("text/html")) {
        const doc = new DOMParser().parseFromString(await response.text(), "text/html");
        const figure = doc.querySelector("figure.chart");
        if (figure) box.replaceChildren(document.importNode(figure, true));
      }
    }, 2000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const list = document.getElementById("inbox");
    if (list) inbox(list);
    const root = document.getElementById("tree");
    if (root) tree(root);
    const box = document.getElementById("chart");
    if (box) chart(box);
  });
})();
