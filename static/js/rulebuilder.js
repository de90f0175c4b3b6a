// The rule builder (DESIGN §6): rows of field, operator and value drawn over a rule's JSON
// textarea, which stays the field that is saved (and the view without JavaScript). Every change
// is written back into the textarea as JSON; the builder element's htmx attributes then post it to
// the preview endpoint, which answers with the rows and users it matches.
(function () {
  "use strict";

  var NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
  var NUMERIC_OPS = ["equals", "not_equals", "gt", "lt", "in"];

  function element(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function parseRule(text) {
    text = (text || "").trim();
    if (!text || text === "null") return { combinator: "all", conditions: [] };
    var rule;
    try { rule = JSON.parse(text); } catch (error) { return null; }
    if (!rule || typeof rule !== "object" || Array.isArray(rule)) return null;
    var keys = Object.keys(rule);
    if (keys.length !== 1 || (keys[0] !== "all" && keys[0] !== "any")) return null;
    var conditions = rule[keys[0]];
    if (!Array.isArray(conditions)) return null;
    for (var i = 0; i < conditions.length; i++) {
      var c = conditions[i];
      if (!c || typeof c !== "object" || typeof c.field !== "string" || typeof c.op !== "string") return null;
    }
    return { combinator: keys[0], conditions: conditions };
  }

  // A typed value as JSON: numbers stay numbers where they compare numerically (§6), unless the
  // row was loaded as text and its value has not been retyped.
  function typed(text, op, field, kind) {
    if (kind === "string") return text;
    if (kind === "number" && NUMBER.test(text)) return Number(text);
    if (field !== "timestamp" && NUMERIC_OPS.indexOf(op) >= 0 && NUMBER.test(text)) return Number(text);
    return text;
  }

  function valueText(value) {
    if (Array.isArray(value)) return value.map(String).join(", ");
    return value === undefined || value === null ? "" : String(value);
  }

  function kindOf(value) {
    var first = Array.isArray(value) ? value[0] : value;
    if (typeof first === "number") return "number";
    if (typeof first === "string" && NUMBER.test(first)) return "string";
    return "auto";
  }

  function Builder(root) {
    this.root = root;
    this.textarea = document.getElementById(root.dataset.ruleBuilder);
    this.editor = root.querySelector("[data-rb-editor]");
    this.json = root.querySelector("[data-rb-json]");
    this.fields = JSON.parse(root.dataset.fields || "[]");
    this.operators = JSON.parse(root.dataset.operators || "[]");
    this.count = 0;
  }

  Builder.prototype.start = function () {
    var rule = parseRule(this.textarea.value);
    this.editor.hidden = false;
    this.draw(rule);
    if (rule) this.json.open = false;
    var self = this;
    this.editor.addEventListener("input", function () { self.write(); });
    this.editor.addEventListener("change", function () { self.write(); });
    this.textarea.addEventListener("input", function () {
      var typedRule = parseRule(self.textarea.value);
      if (typedRule) self.draw(typedRule);
    });
  };

  Builder.prototype.draw = function (rule) {
    var self = this;
    this.editor.textContent = "";
    if (!rule) {
      this.editor.appendChild(element("p", { class: "muted small" },
        "The JSON below is not a rule the builder can show: correct it there, or clear it to start again."));
      return;
    }
    var head = element("p", { class: "rb-combinator" });
    head.appendChild(document.createTextNode("Match "));
    this.combinator = element("select", { "aria-label": "Rows must match", "data-rb-combinator": "" });
    [["all", "all"], ["any", "any"]].forEach(function (pair) {
      var option = element("option", { value: pair[0] }, pair[1]);
      if (rule.combinator === pair[0]) option.selected = true;
      self.combinator.appendChild(option);
    });
    head.appendChild(this.combinator);
    head.appendChild(document.createTextNode(" of these conditions"));
    this.editor.appendChild(head);
    this.list = element("ol", { class: "rb-conditions" });
    this.editor.appendChild(this.list);
    rule.conditions.forEach(function (condition) { self.addRow(condition); });
    var add = element("button", { type: "button", class: "rb-add", "data-rb-add": "" }, "+ Add condition");
    add.addEventListener("click", function () {
      var row = self.addRow({ field: "event", op: "equals", value: "" });
      self.write(true);
      row.querySelector("[data-rb-value]").focus();
    });
    this.editor.appendChild(add);
  };

  Builder.prototype.fieldSelect = function (current) {
    var select = element("select", { "data-rb-field": "" });
    var groups = { canonical: element("optgroup", { label: "Fields" }), extra: element("optgroup", { label: "Extra properties" }) };
    var known = false;
    this.fields.forEach(function (field) {
      var option = element("option", { value: field.value }, field.value);
      if (field.value === current) { option.selected = true; known = true; }
      groups[field.group === "extra" ? "extra" : "canonical"].appendChild(option);
    });
    select.appendChild(groups.canonical);
    if (groups.extra.children.length) select.appendChild(groups.extra);
    if (!known && current) {
      var other = element("option", { value: current }, current);
      other.selected = true;
      select.appendChild(other);
    }
    return select;
  };

  Builder.prototype.addRow = function (condition) {
    var self = this;
    var number = ++this.count;
    var row = element("li", { class: "rb-condition", "data-kind": kindOf(condition.value) });
    var field = this.fieldSelect(condition.field);
    field.setAttribute("aria-label", "Field of condition " + number);
    var op = element("select", { "data-rb-op": "", "aria-label": "Operator of condition " + number });
    this.operators.forEach(function (operator) {
      var option = element("option", { value: operator.value }, operator.label);
      if (operator.value === condition.op) option.selected = true;
      op.appendChild(option);
    });
    var value = element("input", {
      type: "text", "data-rb-value": "", "aria-label": "Value of condition " + number,
      placeholder: condition.op === "in" ? "a, b, c" : "value",
    });
    value.value = valueText(condition.value);
    value.addEventListener("input", function () { row.dataset.kind = "auto"; });
    op.addEventListener("change", function () { value.placeholder = op.value === "in" ? "a, b, c" : "value"; });
    var remove = element("button", { type: "button", class: "rb-remove", "aria-label": "Remove condition " + number, title: "Remove this condition" }, "×");
    remove.addEventListener("click", function () {
      row.remove();
      self.write(true);
    });
    [field, op, value, remove].forEach(function (part) { row.appendChild(part); });
    this.list.appendChild(row);
    return row;
  };

  Builder.prototype.rule = function () {
    var conditions = [];
    this.list.querySelectorAll(".rb-condition").forEach(function (row) {
      var field = row.querySelector("[data-rb-field]").value;
      var op = row.querySelector("[data-rb-op]").value;
      var text = row.querySelector("[data-rb-value]").value;
      var kind = row.dataset.kind;
      var value = op === "in"
        ? text.split(",").map(function (part) { return part.trim(); }).filter(Boolean)
            .map(function (part) { return typed(part, op, field, kind); })
        : typed(op === "regex" || op === "contains" || op === "starts_with" ? text : text.trim(), op, field,
            op === "regex" || op === "contains" || op === "starts_with" ? "string" : kind);
      conditions.push({ field: field, op: op, value: value });
    });
    if (!conditions.length) return null;
    var rule = {};
    rule[this.combinator.value] = conditions;
    return rule;
  };

  // The rows into the textarea; `announce` for changes no input event carries (add, remove).
  Builder.prototype.write = function (announce) {
    if (!this.list) return;
    var rule = this.rule();
    this.textarea.value = rule ? JSON.stringify(rule) : "";
    if (announce) this.root.dispatchEvent(new CustomEvent("rulebuilder:changed", { bubbles: false }));
  };

  function init(root) {
    if (!root || !root.querySelectorAll) return;
    var builders = root.matches && root.matches("[data-rule-builder]") ? [root] : [];
    root.querySelectorAll("[data-rule-builder]").forEach(function (node) { builders.push(node); });
    builders.forEach(function (node) {
      if (node.dataset.rbReady) return;
      node.dataset.rbReady = "1";
      new Builder(node).start();
    });
  }

  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
