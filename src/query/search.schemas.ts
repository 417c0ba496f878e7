import { z } from "@hono/zod-openapi";
import { storableText } from "../events/event-schema";
import { splitFieldPath } from "../events/field-path";
import { MAX_FIELD_GROUPS } from "../events/limits";

/**
 * Search inside events: free text (`q`), conditions on payload fields
 * (`where`) and counts by a payload field (`groupBy: "field:<path>"`). The
 * schemas validate requests and cursors alike, and document them.
 */
export const MAX_Q_LENGTH = 512;
export const MAX_CONDITIONS = 10;
export const MAX_IN_VALUES = 100;
export const MAX_PATH_SEGMENTS = 16;
export const MAX_VALUE_LENGTH = 256;

const noControl = (value: string) => !/[\u0000-\u001f]/.test(value);

export const QSchema = z
  .string()
  .max(MAX_Q_LENGTH)
  .refine((v) => v.isWellFormed(), "must not contain lone UTF-16 surrogates")
  .refine(noControl, "must not contain control characters (U+0000 to U+001F)")
  .openapi({
    description:
      "Free text: whitespace-separated terms that must all match (a double-quoted phrase is one term). A term matches, " +
      "case-insensitively, as a substring of any string value in the payload (nested objects and arrays too) or of the " +
      "eventId; every character, % _ \\ * included, is literal.",
    example: 'timeout "payment declined"',
  });

export const FieldPathSchema = storableText(1024)
  .superRefine((path, ctx) => {
    const segments = splitFieldPath(path);
    if (!segments) {
      ctx.addIssue({ code: "custom", message: "a backslash escapes only a dot or a backslash (\\. or \\\\)" });
      return;
    }
    if (segments.length > MAX_PATH_SEGMENTS) ctx.addIssue({ code: "custom", message: `at most ${MAX_PATH_SEGMENTS} segments` });
    if (segments.some((s) => s === "")) ctx.addIssue({ code: "custom", message: "empty segment: a path is keys joined by dots" });
  })
  .openapi({
    description:
      "A dot path into the payload, e.g. http.status; a dot inside a key is written \\. (attributes.http\\.route). " +
      "Arrays on the way match if any element does",
    example: "http.status",
  });

const text = storableText(MAX_VALUE_LENGTH, 0);
export const JsonScalarSchema = z.union([text, z.number(), z.boolean(), z.null()]).openapi("JsonScalar");

export const ConditionSchema = z
  .discriminatedUnion("op", [
    z.object({ field: FieldPathSchema, op: z.enum(["eq", "neq"]), value: JsonScalarSchema }).strict(),
    z.object({ field: FieldPathSchema, op: z.literal("in"), value: z.array(JsonScalarSchema).min(1).max(MAX_IN_VALUES) }).strict(),
    z.object({ field: FieldPathSchema, op: z.literal("exists") }).strict(),
    z.object({ field: FieldPathSchema, op: z.enum(["gt", "gte", "lt", "lte"]), value: z.union([z.number(), text]) }).strict(),
    z.object({ field: FieldPathSchema, op: z.literal("contains"), value: text.min(1) }).strict(),
  ])
  .openapi("Condition", {
    description:
      "eq/neq compare JSON scalars exactly (\"500\" is not 500; neq also matches events without the field); in: any of " +
      "the values; exists: the field is there (null included); gt/gte/lt/lte: numbers as numbers, strings by code point, " +
      "never one with the other; contains: a case-insensitive substring of a string value.",
  });

export type Condition = z.infer<typeof ConditionSchema>;

export const WhereSchema = z.array(ConditionSchema).max(MAX_CONDITIONS).openapi({ description: "Conditions that must all hold" });

export const FIELD_GROUP_PREFIX = "field:";

/** `groupBy`: service, eventType, or field:<path>. */
export const GroupBySchema = z
  .union([
    z.enum(["service", "eventType"]),
    z.string().startsWith(FIELD_GROUP_PREFIX).superRefine((v, ctx) => {
      const parsed = FieldPathSchema.safeParse(v.slice(FIELD_GROUP_PREFIX.length));
      if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", message: `field path: ${issue.message}` });
    }),
  ])
  .openapi({
    description:
      "Count events per service, per event type, or per value of a payload field (`field:level`): the top " +
      `${MAX_FIELD_GROUPS} values, then one entry with other: true counting the rest; events without the field (or whose ` +
      "value is an object or array) count under null",
    example: "field:level",
  });

/** Splits free text into terms: whitespace separates them, a double-quoted phrase is one term; lowercased. */
export function searchTerms(q: string | undefined): string[] {
  if (!q) return [];
  const terms: string[] = [];
  const pattern = /"([^"]*)"|(\S+)/g;
  for (let match = pattern.exec(q); match; match = pattern.exec(q)) {
    const term = (match[1] ?? match[2] ?? "").toLowerCase();
    if (term !== "") terms.push(term);
  }
  return terms;
}
