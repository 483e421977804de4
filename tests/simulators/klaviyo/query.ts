// Query parameters of the simulated GET operations, checked as the spec defines them: sparse
// fieldsets and includes from enums, page[size] within its range, sort from its enum, and `filter`
// parsed and checked against the operation's x-klaviyo-filters (fields, operators, value types).

export type FilterValueType = "string" | "date-time" | "number";
export type FilterFieldSpec = { single?: string[]; list?: string[]; none?: string[]; value?: FilterValueType };
export type QuerySpec = {
  fields?: Record<string, readonly string[]>;
  additionalFields?: Record<string, readonly string[]>;
  include?: readonly string[];
  sort?: readonly string[];
  pageSize?: { min: number; max: number; default: number };
  /** Endpoints without page[size] still page with a cursor. */
  pageLength?: number;
  filter?: Record<string, FilterFieldSpec>;
};

export type FilterValue = string | number | Date | null | FilterValue[];
export type FilterCondition = { operator: string; field: string; value: FilterValue | undefined };

export type ParsedQuery = {
  problems: { parameter: string; detail: string }[];
  filter: FilterCondition[];
  include: string[];
  sort: string | null;
  pageSize: number;
  cursor: string | null;
};

class FilterSyntaxError extends Error {}

/** Split on commas that are not inside quotes, brackets or parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quote) {
      if (char === "\\") i++;
      else if (char === quote) quote = null;
      continue;
    }
    if (char === '"' || char === "'") quote = char;
    else if (char === "(" || char === "[") depth++;
    else if (char === ")" || char === "]") depth--;
    else if (char === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
    if (depth < 0) throw new FilterSyntaxError("Invalid filter provided. Verify your parentheses match.");
  }
  if (depth !== 0 || quote) throw new FilterSyntaxError("Invalid filter provided. Verify your parentheses match.");
  parts.push(text.slice(start));
  return parts.map((part) => part.trim());
}

function parseValue(raw: string): { value: FilterValue; quoted: boolean } {
  const first = raw[0];
  if ((first === '"' || first === "'") && raw.endsWith(first) && raw.length >= 2) {
    return { value: raw.slice(1, -1).replace(/\\(.)/g, "$1"), quoted: true };
  }
  if (first === "[" && raw.endsWith("]")) {
    const inner = raw.slice(1, -1).trim();
    const items = inner ? splitTopLevel(inner).map((item) => parseValue(item)) : [];
    return { value: items.map((item) => item.value), quoted: items.every((item) => item.quoted) };
  }
  if (raw === "null") return { value: null, quoted: false };
  if (/^-?\d+(\.\d+)?$/.test(raw)) return { value: Number(raw), quoted: false };
  if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw) && !Number.isNaN(Date.parse(raw))) {
    return { value: new Date(raw), quoted: false };
  }
  throw new FilterSyntaxError(`Invalid filter value: ${raw}. Text values must be quoted.`);
}

export function parseFilter(text: string, spec: Record<string, FilterFieldSpec>): FilterCondition[] {
  const conditions: FilterCondition[] = [];
  for (const expression of splitTopLevel(text)) {
    const match = /^([a-z-]+)\((.*)\)$/s.exec(expression);
    if (!match) throw new FilterSyntaxError(`Invalid filter provided: '${expression}'.`);
    const [, operator, inner] = match as unknown as [string, string, string];
    if (["and", "or", "not"].includes(operator)) {
      throw new FilterSyntaxError(`'${operator}' is not supported here; combine conditions with commas.`);
    }
    const [field = "", ...rest] = splitTopLevel(inner);
    const fieldSpec = spec[field];
    if (!fieldSpec) throw new FilterSyntaxError(`'${field}' is not a valid field for filtering.`);
    if (rest.length === 0) {
      if (!fieldSpec.none?.includes(operator)) throw new FilterSyntaxError(`'${operator}' is not an allowed operator for '${field}'.`);
      conditions.push({ operator, field, value: undefined });
      continue;
    }
    if (rest.length > 1) throw new FilterSyntaxError(`Invalid filter provided: '${expression}'.`);
    const { value, quoted } = parseValue(rest[0]!);
    const isList = Array.isArray(value);
    const allowed = isList ? fieldSpec.list : fieldSpec.single;
    if (!allowed?.includes(operator)) throw new FilterSyntaxError(`'${operator}' is not an allowed operator for '${field}'.`);
    const items = isList ? value : [value];
    for (const item of items) {
      const ok =
        fieldSpec.value === "date-time" ? item instanceof Date : fieldSpec.value === "number" ? typeof item === "number" : typeof item === "string" && quoted;
      if (!ok) throw new FilterSyntaxError(`Invalid value for '${field}': expected ${fieldSpec.value ?? "string"}.`);
    }
    conditions.push({ operator, field, value });
  }
  return conditions;
}

export function parseQuery(params: URLSearchParams, spec: QuerySpec): ParsedQuery {
  const problems: ParsedQuery["problems"] = [];
  const result: ParsedQuery = { problems, filter: [], include: [], sort: null, pageSize: spec.pageSize?.default ?? spec.pageLength ?? 100, cursor: null };
  const csv = (value: string) => value.split(",").map((item) => item.trim());
  for (const [name, value] of params) {
    const fieldsMatch = /^fields\[(.+)\]$/.exec(name);
    const additionalMatch = /^additional-fields\[(.+)\]$/.exec(name);
    if (fieldsMatch) {
      const allowed = spec.fields?.[fieldsMatch[1]!];
      if (!allowed) problems.push({ parameter: name, detail: `'${name}' is not a valid parameter for this endpoint.` });
      else for (const item of csv(value)) if (!isAllowedField(item, allowed)) problems.push({ parameter: name, detail: `'${item}' is not a valid field for '${name}'.` });
    } else if (additionalMatch) {
      const allowed = spec.additionalFields?.[additionalMatch[1]!];
      if (!allowed) problems.push({ parameter: name, detail: `'${name}' is not a valid parameter for this endpoint.` });
      else for (const item of csv(value)) if (!allowed.includes(item)) problems.push({ parameter: name, detail: `'${item}' is not a valid choice for '${name}'.` });
    } else if (name === "include" && spec.include) {
      result.include = csv(value);
      for (const item of result.include) if (!spec.include.includes(item)) problems.push({ parameter: name, detail: `'${item}' is not a valid include.` });
    } else if (name === "sort" && spec.sort) {
      if (!spec.sort.includes(value)) problems.push({ parameter: name, detail: `'${value}' is not a valid sort field.` });
      else result.sort = value;
    } else if (name === "page[size]" && spec.pageSize) {
      const size = Number(value);
      if (!/^\d+$/.test(value) || size < spec.pageSize.min || size > spec.pageSize.max) {
        problems.push({ parameter: name, detail: `page[size] must be an integer from ${spec.pageSize.min} to ${spec.pageSize.max}.` });
      } else result.pageSize = size;
    } else if (name === "page[cursor]" && (spec.pageSize || spec.pageLength)) {
      result.cursor = value;
    } else if (name === "filter" && spec.filter) {
      try {
        result.filter = parseFilter(value, spec.filter);
      } catch (error) {
        if (!(error instanceof FilterSyntaxError)) throw error;
        problems.push({ parameter: "filter", detail: error.message });
      }
    } else {
      problems.push({ parameter: name, detail: `'${name}' is not a valid parameter for this endpoint.` });
    }
  }
  return result;
}

/** An allowed field, or a sub-field of one that the spec lists with its children (location.city). */
function isAllowedField(field: string, allowed: readonly string[]): boolean {
  return allowed.includes(field) || allowed.some((parent) => parent.endsWith(".*") && field.startsWith(parent.slice(0, -1)));
}

/** Does a value satisfy a filter condition? */
export function matches(condition: FilterCondition, actual: unknown): boolean {
  const { operator, value } = condition;
  const comparable = (input: unknown) => (input instanceof Date ? input.getTime() : typeof input === "string" && condition.value instanceof Date ? Date.parse(input) : input);
  const left = comparable(actual) as number | string;
  const right = comparable(value) as number | string;
  switch (operator) {
    case "equals":
      return Array.isArray(value) ? value.some((item) => comparable(item) === left) : left === right;
    case "any":
      return Array.isArray(value) && value.some((item) => comparable(item) === left);
    case "greater-than":
      return left > right;
    case "greater-or-equal":
      return left >= right;
    case "less-than":
      return left < right;
    case "less-or-equal":
      return left <= right;
    case "has":
      return actual !== null && actual !== undefined;
    default:
      return false;
  }
}
