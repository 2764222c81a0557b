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
