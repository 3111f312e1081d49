// Mapping editor: builds a proposal from the page, shows its effect in words (rendered by the server in the
// admin's language), publishes after a confirmation with the re-projection's progress, rolls back, restores
// the default, and adds or removes per-project exceptions.
(function () {
  "use strict";
  const form = document.getElementById("mapping-form");
  if (!form) return;
  const data = form.dataset;
  const result = document.getElementById("mapping-result");
  const dialog = document.getElementById("publish-dialog");
  const progressBox = document.getElementById("publish-progress");
  const descriptions = {};
  document.querySelectorAll(".legend tr[data-status]").forEach((row) => {
    descriptions[row.dataset.status] = row.dataset.description;
  });

  const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));

  // What customers would read, under each select, as the admin changes it.
  form.addEventListener("change", (event) => {
    const select = event.target;
    const wording = document.getElementById(`${select.id}-wording`);
    if (!wording || select.tagName !== "SELECT") return;
    wording.textContent = select.value ? descriptions[select.value] || "" : wording.dataset.automatic;
  });
  // The empty choice of a status nobody mapped means "the automatic choice": keep its explanation.
  document.querySelectorAll("[data-wording-for]").forEach((p) => { p.dataset.automatic = p.textContent; });

  async function currentDocument() {
    const response = await fetch(data.mappingUrl, { credentials: "same-origin" });
    return (await response.json()).document;
  }

  function proposal(documentData) {
    const doc = JSON.parse(JSON.stringify(documentData));
    form.querySelectorAll("select[data-rule]").forEach((select) => {
      doc.status_rules[Number(select.dataset.rule)].customer_status = select.value;
    });
    form.querySelectorAll("select[data-priority-rule]").forEach((select) => {
      doc.priority_rules[Number(select.dataset.priorityRule)].customer_priority = select.value;
    });
    const removed = new Set([...form.querySelectorAll("tr.override[data-removed]")].map((r) => Number(r.dataset.index)));
    doc.status_rules = doc.status_rules.filter((_, index) => !removed.has(index));
    form.querySelectorAll("select[data-new-status]").forEach((select) => {
      if (select.value) {
        doc.status_rules.push({ jira_name: select.closest("tr").dataset.jiraName, customer_status: select.value });
      }
    });
    // New exceptions first: within one project the first rule for a status wins.
    const added = [...form.querySelectorAll("tr.new-override")].map((row) => ({
      project: row.dataset.project, jira_name: row.dataset.jiraName,
      customer_status: row.querySelector("select").value,
    }));
    doc.status_rules = added.concat(doc.status_rules);
    return doc;
  }

  function escapeHtml(text) {
    const div = document.createElement("div");
    div.textContent = String(text);
    return div.innerHTML;
  }

  async function effect(body) {
    const response = await fetch(data.previewUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": data.csrf }, body: JSON.stringify(body),
    });
    return { ok: response.ok, html: await response.text() };
  }

  async function send(url, method, body) {
    const response = await fetch(url, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error((answer.messages || [answer.error]).join("; "));
    return answer;
  }

  document.getElementById("preview-button").addEventListener("click", async () => {
    const answer = await effect({ document: proposal(await currentDocument()) });
    result.className = answer.ok ? "" : "flash error";
    result.innerHTML = answer.html;
  });

  // One confirmation dialog for publish, rollback and restore: the effect first, then the progress.
  let pending = null;
  const confirmButton = document.getElementById("confirm-publish");
  const title = document.getElementById("publish-title");

  async function ask(kind, previewBody, publish, values) {
    pending = publish;
    title.textContent = fill(title.dataset[kind], values || {});
    document.getElementById("publish-effect").innerHTML = "";
    progressBox.querySelector(".text").textContent = "";
    progressBox.querySelector("progress").hidden = true;
    confirmButton.disabled = true;
    dialog.showModal();
    const answer = await effect(previewBody);
    document.getElementById("publish-effect").innerHTML = answer.html;
    confirmButton.disabled = !answer.ok;
  }

  function showProgress(version, state) {
    const bar = progressBox.querySelector("progress");
    const text = progressBox.querySelector(".text");
    if (state && state.version === version && state.total) {
      bar.hidden = false;
      bar.max = state.total;
      bar.value = state.done;
      text.textContent = fill(data.progressRunning, { v: version, done: state.done, total: state.total });
    } else {
      text.textContent = fill(data.progressQueued, { v: version });
    }
  }

  async function follow(version) {
    const started = Date.now();
    for (;;) {
      const state = await (await fetch(data.progressUrl, { credentials: "same-origin" })).json();
      showProgress(version, state);
      if (state.version === version && state.state === "done") break;
      if (Date.now() - started > 60000) {
        progressBox.querySelector(".text").textContent = fill(data.progressSlow, { v: version });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    window.location.assign(`${data.pageUrl}?published=${version}`);
  }

  confirmButton.addEventListener("click", async () => {
    confirmButton.disabled = true;
    try {
      const answer = await pending();
      await follow(answer.version);
    } catch (error) {
      progressBox.querySelector(".text").textContent = fill(data.failed, { error: error.message });
    }
  });
  document.getElementById("cancel-publish").addEventListener("click", () => dialog.close());

  document.getElementById("publish-button").addEventListener("click", async () => {
    const doc = proposal(await currentDocument());
    const comment = document.getElementById("comment").value;
    await ask("publish", { document: doc }, () => send(data.publishUrl, "PUT", { document: doc, comment }));
  });

  document.querySelectorAll("button.rollback").forEach((button) => {
    button.addEventListener("click", () => {
      const version = Number(button.dataset.version);
      ask("rollback", { version }, () => send(data.rollbackUrl, "POST", { version }), { v: version });
    });
  });

  const restore = document.getElementById("restore-default");
  if (restore) {
    restore.addEventListener("click", () => {
      const comment = document.getElementById("comment").value || data.defaultComment;
      ask("default", { default: true }, () => send(data.defaultUrl, "POST", { comment }));
    });
  }

  // Exceptions for one project: add rows (sent with the proposal), or mark existing ones for removal.
  const overrides = document.querySelector("#overrides tbody");
  document.getElementById("add-override").addEventListener("click", () => {
    const project = document.getElementById("new-project").value;
    const jiraName = document.getElementById("new-jira-status").value;
    const chosen = document.getElementById("new-customer-status");
    const n = overrides.querySelectorAll("tr.new-override").length;
    const row = document.createElement("tr");
    row.className = "new-override";
    row.dataset.project = project;
    row.dataset.jiraName = jiraName;
    row.innerHTML = `<td>${escapeHtml(project)}</td><th scope="row">${escapeHtml(jiraName)}</th>` +
      `<td><label class="sr-only" for="added-${n}"></label><select id="added-${n}">${chosen.innerHTML}</select>` +
      `<p class="wording muted" id="added-${n}-wording"></p></td>` +
      `<td><button type="button" class="link drop-override">${escapeHtml(data.remove)}</button></td>`;
    row.querySelector("label").textContent = `${jiraName} (${project})`;
    const select = row.querySelector("select");
    select.value = chosen.value;
    select.setAttribute("aria-describedby", `added-${n}-wording`);
    row.querySelector(".wording").textContent = descriptions[chosen.value] || "";
    overrides.insertBefore(row, overrides.firstChild);
    overrides.querySelector("tr.none-yet").hidden = true;
    select.focus();
  });
  overrides.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const row = button.closest("tr");
    if (button.classList.contains("drop-override")) {
      row.remove();
      document.getElementById("add-override").focus();
    } else if (button.classList.contains("remove-override")) {
      const removing = !row.hasAttribute("data-removed");
      row.toggleAttribute("data-removed", removing);
      button.textContent = removing ? data.undo : data.remove;
    }
  });
})();
