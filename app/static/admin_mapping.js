// Mapping editor: builds a proposal from the table, asks the API for a preview, publishes, rolls back.
(function () {
  "use strict";
  const form = document.getElementById("mapping-form");
  if (!form) return;
  const result = document.getElementById("mapping-result");

  async function currentDocument() {
    const response = await fetch(form.dataset.mappingUrl, { credentials: "same-origin" });
    return (await response.json()).document;
  }

  function proposal(documentData) {
    const doc = JSON.parse(JSON.stringify(documentData));
    form.querySelectorAll("select[data-kind=status]").forEach((select) => {
      const index = Number(select.closest("tr").dataset.index);
      doc.status_rules[index].customer_status = select.value;
    });
    form.querySelectorAll("select[data-kind=priority]").forEach((select) => {
      const index = Number(select.closest("tr").dataset.index);
      doc.priority_rules[index].customer_priority = select.value;
    });
    form.querySelectorAll("select[data-kind=new-status]").forEach((select) => {
      if (select.value) {
        doc.status_rules.push({ jira_name: select.closest("tr").dataset.jiraName, customer_status: select.value });
      }
    });
    return doc;
  }

  function show(html, isError) {
    result.className = isError ? "flash error" : "flash";
    result.innerHTML = html;
  }

  function escapeHtml(text) {
    const div = document.createElement("div");
    div.textContent = String(text);
    return div.innerHTML;
  }

  async function send(url, method, body) {
    const response = await fetch(url, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const data = await response.json();
    if (!response.ok) {
      const messages = (data.messages || [data.error]).map(escapeHtml).join("<br>");
      show(messages, true);
      return null;
    }
    return data;
  }

  document.getElementById("preview-button").addEventListener("click", async () => {
    const data = await send(form.dataset.previewUrl, "POST", { document: proposal(await currentDocument()) });
    if (!data) return;
    const p = data.policies || {};
    const fill = (template, now, week) => escapeHtml(template.replace("{now}", now).replace("{week}", week));
    const rules = `<p id="policy-forecast">${fill(form.dataset.policyForecast, p.closes_now, p.closes_this_week)}` +
      (p.reminds_now || p.reminds_this_week
        ? ` ${fill(form.dataset.policyReminders, p.reminds_now, p.reminds_this_week)}` : "") + "</p>";
    if (!data.status_changes && !data.priority_changes.length) {
      show(escapeHtml(form.dataset.noChange || "No ticket would change.") + rules, false);
      return;
    }
    const rows = data.moves.map((m) => `<li>${escapeHtml(m.from)} → ${escapeHtml(m.to)}: ${m.count}` +
      ` (${m.sample.map(escapeHtml).join(", ")})</li>`).join("");
    const prio = data.priority_changes.map((m) => `<li>${escapeHtml(m.from)} → ${escapeHtml(m.to)}: ${m.count}</li>`).join("");
    show(`<strong>${data.status_changes} / ${data.tickets}</strong><ul>${rows}${prio}</ul>${rules}`, false);
  });

  document.getElementById("publish-button").addEventListener("click", async () => {
    const comment = document.getElementById("comment").value;
    const data = await send(form.dataset.publishUrl, "PUT", { document: proposal(await currentDocument()), comment });
    if (data) {
      show(`✓ v${data.version}`, false);
      setTimeout(() => window.location.reload(), 800);
    }
  });

  document.querySelectorAll("button.rollback").forEach((button) => {
    button.addEventListener("click", async () => {
      // Destructive: every ticket is re-projected under the old version, so ask first.
      if (!window.confirm(button.dataset.confirm)) return;
      const data = await send(button.dataset.url, "POST", { version: Number(button.dataset.version) });
      if (data) window.location.reload();
    });
  });
})();
