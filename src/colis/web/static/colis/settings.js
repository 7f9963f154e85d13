// Settings: drag a location row to change priority (the move buttons do the same by keyboard).
document.addEventListener("DOMContentLoaded", () => {
  const table = document.querySelector("table[data-reorder]");
  if (!table) return;
  const form = document.querySelector(table.dataset.reorder);
  const body = table.tBodies[0];
  let dragged = null;
  body.addEventListener("dragstart", (event) => {
    dragged = event.target.closest("tr[data-id]");
    if (!dragged) return;
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.id);
  });
  body.addEventListener("dragover", (event) => {
    const row = event.target.closest("tr[data-id]");
    if (!dragged || !row || row === dragged) return;
    event.preventDefault();
    body.querySelectorAll(".drop-before").forEach((r) => r.classList.remove("drop-before"));
    row.classList.add("drop-before");
  });
  body.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    body.querySelectorAll(".drop-before").forEach((r) => r.classList.remove("drop-before"));
    dragged = null;
  });
  body.addEventListener("drop", (event) => {
    const row = event.target.closest("tr[data-id]");
    if (!dragged || !row || row === dragged) return;
    event.preventDefault();
    body.insertBefore(dragged, row);
    const ids = Array.from(body.querySelectorAll("tr[data-id]"), (r) => r.dataset.id);
    form.elements.location_ids.value = ids.join(",");
    form.requestSubmit();
  });
});
