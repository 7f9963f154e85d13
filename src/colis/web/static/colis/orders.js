// Orders list: show only the options of the chosen bulk action; count the selected orders.
(() => {
  const form = document.getElementById("bulk");
  if (!form) return;
  const action = form.querySelector("select[name=action]");
  const count = document.getElementById("selected-count");
  const show = () => {
    form.querySelectorAll("[data-for]").forEach((el) => {
      const on = el.dataset.for.split(" ").includes(action.value);
      el.hidden = !on;
      el.querySelectorAll("input, select").forEach((input) => { input.disabled = !on; });
    });
  };
  const tally = () => {
    const n = document.querySelectorAll("input[name=ids][form=bulk]:checked").length;
    if (count) count.textContent = n ? `${n} ${count.dataset.label}` : "";
  };
  action.addEventListener("change", show);
  document.addEventListener("change", (event) => {
    if (event.target.matches("input[name=ids], input[data-select-all]")) tally();
  });
  show();
  tally();
})();
