// Progressive enhancement only: every page works without this file.
import { initAll } from "./govuk/govuk-frontend.min.js";

initAll();

// "Copy" beside a read-only address (the feeds page): shown only where it can work, it copies
// the address and says so to a screen reader through the status next to it.
for (const button of document.querySelectorAll("[data-copy]")) {
  const field = document.getElementById(button.dataset.copy);
  const status = document.getElementById(`${button.dataset.copy}-status`);
  if (!field || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(field.value);
      status.textContent = "Address copied";
    } catch {
      field.select();
      status.textContent = "Press Control and C (or Command and C) to copy the selected address";
    }
  });
}

// Autosave in the brief editor (handlers/console/copies.py): about 10 seconds after a change,
// and when the page is hidden, the form is posted (with its CSRF field) to its autosave
// address, which keeps a working copy and never changes the brief. The status region says
// when the copy was saved, or that the session has ended; nothing typed is touched. Without
// this script the editor works as it always has, and "Save draft" is the way to save.
const editor = document.querySelector("form[data-autosave]");
if (editor) autosave(editor);

function autosave(form) {
  const status = document.getElementById("autosave-status");
  const AFTER = 10000;
  let changed = false; // since the last copy the server took
  let timer = null;
  let sending = null; // the post under way, if any
  let submitting = false; // the form itself is being sent: autosave stands aside

  const say = (text, ended = false) => {
    if (status.textContent !== text) status.textContent = text;
    status.classList.toggle("learnhub-autosave--ended", ended);
  };

  const schedule = () => {
    if (!timer && !submitting) timer = setTimeout(() => { timer = null; save(); }, AFTER);
  };

  const onChange = () => {
    if (form.hasAttribute("data-autosave-paused")) {
      say("No copy of your changes is being kept until you restore or discard your unsaved changes above.");
      return;
    }
    changed = true;
    schedule();
  };

  async function save({ leaving = false } = {}) {
    if (!changed || submitting || sending) return;
    changed = false;
    const body = new URLSearchParams(new FormData(form));
    // A post that outlives the page must be small (browsers cap keepalive bodies at 64 KB).
    const keepalive = leaving && body.toString().length < 60000;
    sending = fetch(form.dataset.autosave, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      keepalive,
    })
      .then(async (response) => {
        if (response.status === 401 || response.status === 403) {
          changed = true; // tried again at the next change, or when the window is back
          say("Your session has ended: copy your text, or sign in again in another tab", true);
          return;
        }
        if (response.status === 413) {
          changed = true;
          say("This is longer than the editor takes, so no copy could be kept: shorten it.", true);
          return;
        }
        if (!response.ok) throw new Error(String(response.status));
        const answer = await response.json();
        say(answer.saved ? `Saved a copy at ${answer.time}` : "No unsaved changes");
      })
      .catch(() => {
        changed = true;
        say("A copy could not be saved just now: we will try again.");
        schedule();
      })
      .finally(() => {
        sending = null;
      });
    return sending;
  }

  form.addEventListener("input", onChange);
  form.addEventListener("change", onChange);
  // Back from another tab (where the person may have signed in again): try once more.
  window.addEventListener("focus", () => { if (changed) save(); });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") save({ leaving: true });
    else if (changed) save();
  });
  window.addEventListener("pagehide", () => save({ leaving: true }));

  // Saving the form deletes the working copy: a copy still on its way must not arrive after
  // the save and bring it back, so the form waits for it (up to 3 seconds), then goes.
  form.addEventListener("submit", (event) => {
    submitting = true;
    clearTimeout(timer);
    timer = null;
    if (!sending) return;
    event.preventDefault();
    const submitter = event.submitter;
    const waited = new Promise((resolve) => setTimeout(resolve, 3000));
    Promise.race([sending, waited]).then(() => {
      sending = null;
      form.requestSubmit(submitter);
    });
  });
  // Back to the page from the history (bfcache): it may be edited again.
  window.addEventListener("pageshow", (event) => { if (event.persisted) submitting = false; });
}
