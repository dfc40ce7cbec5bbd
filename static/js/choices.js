// Linked choices: a form field whose choices are the items of a board list (a recipe's
// data sources, a risk's recipes) follows that list as the page shows it. live.js calls
// attuneChoices.sync after each frame it applies.
(function () {
  "use strict";

  function isPrivate(card) {
    return Boolean(card.querySelector(":scope > .private-note"));
  }

  // A field whose choices are the items of a board list (a recipe's data sources, a
  // risk's recipes) follows that list as the page shows it: an item added elsewhere
  // appears in every open form, a renamed one is renamed, a deleted one goes. What a
  // person ticked or picked stays as it is (the same option elements are kept).
  function listChoices(key) {
    const list = document.getElementById("list-" + key);
    if (!list) return null;
    const prefix = key + "-";
    const choices = [];
    for (const child of list.children) {
      // Private writing cannot be linked until it is revealed (workshop/forms.py).
      if (!child.id || !child.id.startsWith(prefix) || isPrivate(child)) continue;
      // A card being edited is a form without the label: keep the label shown.
      choices.push({ value: child.id.slice(prefix.length), label: child.dataset.label });
    }
    return choices;
  }

  function syncSelect(select, choices) {
    const existing = new Map();
    for (const option of Array.from(select.options)) if (option.value) existing.set(option.value, option);
    let previous = Array.from(select.options).find(function (option) { return !option.value; }) || null;
    for (const choice of choices) {
      let option = existing.get(choice.value);
      existing.delete(choice.value);
      if (!option) { option = document.createElement("option"); option.value = choice.value; }
      if (choice.label !== undefined && option.textContent !== choice.label) option.textContent = choice.label;
      if (!option.textContent) continue; // never seen with a label: nothing to show yet
      if (previous) { if (previous.nextElementSibling !== option) previous.after(option); }
      else if (select.firstElementChild !== option) select.prepend(option);
      previous = option;
    }
    for (const gone of existing.values()) gone.remove();
  }

  function syncCheckboxes(box, name, choices) {
    const inputs = new Map();
    for (const input of box.querySelectorAll("input[type=checkbox]")) inputs.set(input.value, input);
    let previous = null;
    for (const choice of choices) {
      const input = inputs.get(choice.value);
      inputs.delete(choice.value);
      let row = input ? input.closest("label").parentElement : null;
      if (!row) {
        if (choice.label === undefined) continue;
        row = document.createElement("div");
        const label = document.createElement("label");
        const fresh = document.createElement("input");
        fresh.type = "checkbox";
        fresh.name = name;
        fresh.value = choice.value;
        fresh.id = box.id + "_live" + choice.value;
        label.htmlFor = fresh.id;
        label.append(fresh, " " + choice.label);
        row.append(label);
      } else if (choice.label !== undefined) {
        const text = row.querySelector("label").lastChild;
        if (text && text.nodeType === Node.TEXT_NODE && text.textContent.trim() !== choice.label) text.textContent = " " + choice.label;
      }
      if (previous) { if (previous.nextElementSibling !== row) previous.after(row); }
      else if (box.firstElementChild !== row) box.prepend(row);
      previous = row;
    }
    for (const gone of inputs.values()) gone.closest("label").parentElement.remove();
  }

  function syncChoices(touched, within) {
    const cache = new Map();
    for (const field of (within || document).querySelectorAll("[data-choices]")) {
      const key = field.dataset.choices;
      if (touched && !touched.has(key)) continue;
      if (!cache.has(key)) cache.set(key, listChoices(key));
      const choices = cache.get(key);
      if (!choices) continue;
      const select = field.querySelector("select");
      const box = field.querySelector("fieldset > div[id]");
      if (select) syncSelect(select, choices);
      else if (box) syncCheckboxes(box, field.dataset.name, choices);
      const empty = field.querySelector(".choices-empty");
      if (empty) empty.hidden = choices.length > 0;
    }
  }

  window.attuneChoices = { sync: syncChoices };
  syncChoices(null);
  // A form htmx brings in (an item's edit form) catches up with the lists by itself;
  // other swaps (a ballot, a saved card) have no choices and cost nothing here.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    const swapped = event.detail.elt;
    if (swapped && swapped.querySelector && swapped.querySelector("[data-choices]")) syncChoices(null, swapped);
  });
})();
