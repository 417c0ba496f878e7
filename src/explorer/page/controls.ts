/// <reference lib="dom" />
/**
 * The view settings above the results: search, range, type, service, zone,
 * and the condition chips. It shows a state and reports what the user
 * changed as a patch; main.ts decides what to load.
 */
import { bdi, byId, h, isolated } from "./dom";
import { formatCount, localZoneName, parseInputValue, toInputValue, zoneLabel, type Zone } from "./format";
import { cleanQuery, describeCondition, EVENT_TYPES, type Condition, type EventType, type TimeWindow, type ViewState } from "./state";

export interface ControlsOptions {
  change: (patch: Partial<ViewState>) => void;
  /** The window on screen, to start the custom range from. */
  window: () => TimeWindow;
}

export function createControls(options: ControlsOptions) {
  const el = {
    form: byId<HTMLFormElement>("controls"),
    search: byId<HTMLInputElement>("search"),
    customRange: byId("custom-range"),
    from: byId<HTMLInputElement>("from"),
    to: byId<HTMLInputElement>("to"),
    rangeZone: byId("range-zone"),
    rangeError: byId("range-error"),
    type: byId<HTMLSelectElement>("type-filter"),
    service: byId<HTMLInputElement>("service-filter"),
    serviceOptions: byId<HTMLDataListElement>("service-options"),
    suggestion: byId("service-suggestion"),
    stack: byId<HTMLSelectElement>("stack"),
    conditionsRow: byId("conditions-row"),
    conditions: byId("conditions"),
    clearConditions: byId<HTMLButtonElement>("clear-conditions"),
    zoneLocal: byId("zone-local-label"),
  };
  let zone: Zone = "local";
  let where: Condition[] = [];
  /** Range errors show once Apply was pressed, and are checked again on every keystroke in either field. */
  let rangeTried = false;

  for (const type of EVENT_TYPES) el.type.append(h("option", { value: type }, type));
  el.zoneLocal.title = `Your time zone: ${localZoneName()} (${zoneLabel("local")})`;

  /** The custom range as entered, or why it cannot be used. */
  function readRange(): { from: Date; to: Date } | { error: string; field: "from" | "to" } {
    const from = parseInputValue(el.from.value, zone);
    const to = parseInputValue(el.to.value, zone);
    if (!from) return { error: "From is not a date and time like 2025-05-03 14:05", field: "from" };
    if (!to) return { error: "To is not a date and time like 2025-05-03 14:05", field: "to" };
    if (from > to) return { error: "The end must be after the start", field: "to" };
    return { from, to };
  }

  function checkRange(): { from: Date; to: Date } | undefined {
    const range = readRange();
    const problem = "error" in range ? range : undefined;
    const show = rangeTried && problem;
    el.rangeError.textContent = show ? problem.error : "";
    el.from.toggleAttribute("aria-invalid", Boolean(show && problem.field === "from"));
    el.to.toggleAttribute("aria-invalid", Boolean(show && problem.field === "to"));
    return problem ? undefined : (range as { from: Date; to: Date });
  }

  function showCustomRange(window: TimeWindow) {
    el.customRange.hidden = false;
    el.from.value = toInputValue(window.start, zone);
    el.to.value = toInputValue(window.end, zone);
    el.rangeZone.textContent = zoneLabel(zone);
    rangeTried = false;
    checkRange();
  }

  el.form.addEventListener("change", (e) => {
    const target = e.target as HTMLInputElement | HTMLSelectElement;
    if (target.name === "range") {
      if (target.value === "custom") showCustomRange(options.window());
      else options.change({ range: target.value as ViewState["range"] });
    } else if (target.name === "zone") options.change({ zone: target.value === "utc" ? "utc" : "local" });
    else if (target === el.type) options.change({ eventType: (el.type.value || undefined) as EventType | undefined });
    else if (target === el.service) options.change({ service: el.service.value || undefined });
    else if (target === el.search) options.change({ q: cleanQuery(el.search.value).trim() ? cleanQuery(el.search.value) : undefined });
  });
  // "search" fires on Enter and when the field is cleared (its × or Escape); change only when it loses focus.
  el.search.addEventListener("search", () => options.change({ q: cleanQuery(el.search.value).trim() ? cleanQuery(el.search.value) : undefined }));
  // The service is exact: spaces at either end are part of the name, never trimmed.
  el.service.addEventListener("search", () => options.change({ service: el.service.value || undefined }));
  el.stack.addEventListener("change", () => options.change({ stack: el.stack.value === "service" ? "service" : "eventType" }));
  for (const field of [el.from, el.to]) field.addEventListener("input", () => checkRange());

  el.form.addEventListener("submit", (e) => {
    e.preventDefault();
    // Enter in a text field submits the form; only the range fields and Apply mean "apply the range".
    const submitter = (e as SubmitEvent).submitter;
    const fromRange = el.customRange.contains(submitter ?? null) || el.customRange.contains(document.activeElement);
    if (el.customRange.hidden || !fromRange) return;
    rangeTried = true;
    const range = checkRange();
    if (!range) {
      (el.from.hasAttribute("aria-invalid") ? el.from : el.to).focus();
      return;
    }
    options.change({ range: "custom", from: range.from.toISOString(), to: range.to.toISOString() });
  });

  el.clearConditions.addEventListener("click", () => options.change({ where: [] }));

  function renderConditions() {
    el.conditionsRow.hidden = where.length === 0;
    el.conditions.replaceChildren(
      ...where.map((condition, index) => {
        const { field, op, value } = describeCondition(condition);
        const text = `${field} ${op}${value ? ` ${value}` : ""}`;
        return h(
          "li",
          { class: "chip" },
          h("span", { class: "chip-text" }, bdi(field, { class: "chip-field" }), ` ${op} `, value ? bdi(value, { class: "chip-value" }) : ""),
          h(
            "button",
            {
              type: "button",
              class: "chip-remove",
              "aria-label": `Remove condition ${isolated(text)}`,
              title: "Remove",
              onclick: () => options.change({ where: where.filter((_, i) => i !== index) }),
            },
            "×",
          ),
        );
      }),
    );
  }

  return {
    search: el.search,
    /** Shows a state in the controls. */
    show(state: ViewState, window: TimeWindow) {
      zone = state.zone;
      for (const radio of el.form.querySelectorAll<HTMLInputElement>('input[name="range"]')) radio.checked = radio.value === state.range;
      for (const radio of el.form.querySelectorAll<HTMLInputElement>('input[name="zone"]')) radio.checked = radio.value === state.zone;
      if (state.range === "custom") showCustomRange(window);
      else el.customRange.hidden = true;
      el.type.value = state.eventType ?? "";
      if (el.service.value !== (state.service ?? "")) el.service.value = state.service ?? "";
      if (document.activeElement !== el.search || !state.q) el.search.value = state.q ?? "";
      el.stack.value = state.stack;
      where = state.where;
      renderConditions();
    },
    /** The services in the range, for the service field's suggestions. */
    setServices(services: { key: string; count: number }[]) {
      el.serviceOptions.replaceChildren(...services.map((row) => h("option", { value: row.key }, `${formatCount(row.count)} events`)));
    },
    /**
     * Names are exact and case-sensitive. When the one typed has no events but
     * differs from a known one only in case or spaces, say so and offer it.
     */
    suggestService(typed: string | undefined, known: string[]) {
      const loose = (name: string) => name.trim().toLowerCase();
      const match = typed === undefined || known.includes(typed) ? undefined : known.find((name) => loose(name) === loose(typed));
      el.suggestion.hidden = match === undefined;
      if (match === undefined || typed === undefined) return el.suggestion.replaceChildren();
      el.suggestion.replaceChildren(
        "No service is named “",
        bdi(typed, { class: "exact-name" }),
        "”: names are exact and case-sensitive. ",
        h("button", { type: "button", class: "link-button", onclick: () => options.change({ service: match }) }, "Show “", bdi(match, { class: "exact-name" }), "”"),
      );
    },
  };
}

export type Controls = ReturnType<typeof createControls>;
