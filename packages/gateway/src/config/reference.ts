/**
 * The config file reference in docs/configuration.md, written from the schema itself so that the two cannot drift:
 * a unit test fails when the document's generated part differs from what this produces.
 */
import type { TSchema } from '@sinclair/typebox';
import { ConfigFileSchema, EXPECT_KEYWORD } from './schema.js';

export const REFERENCE_BEGIN = '<!-- config reference: generated from packages/gateway/src/config/schema.ts -->';
export const REFERENCE_END = '<!-- end of config reference -->';

/** Map keys of records, shown as placeholders in paths. */
const RECORD_KEYS: Record<string, string> = { pbx: '<pbx name>', lines: '<operator id>', 'registrar.accounts': '<user>' };

interface Row {
  path: string;
  required: boolean;
  expect: string;
  defaultValue: unknown;
  description: string;
}

export function configReference(): string {
  const sections: string[] = [];
  for (const [key, schema] of Object.entries(properties(ConfigFileSchema))) {
    if (key === '$schema') continue;
    const rows: Row[] = [];
    collect(key, schema, required(ConfigFileSchema).includes(key), rows);
    const head = `### \`${key}\`${schema.description ? ` — ${schema.description}` : ''}`;
    // The heading already says what the section is.
    if (rows[0]?.path === key) rows.shift();
    const table = ['| setting | value | default | what it does |', '|---|---|---|---|', ...rows.map(formatRow)];
    sections.push([head, '', ...table].join('\n'));
  }
  return [REFERENCE_BEGIN, '', ...sections.flatMap((s) => [s, '']), REFERENCE_END].join('\n');
}

function collect(path: string, schema: TSchema, isRequired: boolean, rows: Row[]): void {
  if (schema.type === 'object' && schema.properties !== undefined) {
    if (schema.default === undefined && !isRequired) rows.push(rowFor(path, schema, false));
    for (const [key, inner] of Object.entries(properties(schema))) collect(`${path}.${key}`, inner, required(schema).includes(key), rows);
    return;
  }
  if (schema.type === 'object' && schema.patternProperties !== undefined) {
    rows.push(rowFor(path, schema, isRequired));
    const [inner] = Object.values(schema.patternProperties as Record<string, TSchema>);
    if (inner !== undefined) collect(`${path}.${RECORD_KEYS[path] ?? '<key>'}`, inner, false, rows);
    return;
  }
  rows.push(rowFor(path, schema, isRequired));
}

function rowFor(path: string, schema: TSchema, isRequired: boolean): Row {
  const expect = typeof schema[EXPECT_KEYWORD] === 'string' ? (schema[EXPECT_KEYWORD] as string) : schema.type === 'object' ? 'an object' : '';
  return { path, required: isRequired && schema.default === undefined, expect, defaultValue: schema.default, description: schema.description ?? '' };
}

function formatRow(row: Row): string {
  const value = escapeCell(row.expect);
  const defaultText =
    row.defaultValue === undefined
      ? row.required
        ? '*required*'
        : '—'
      : `\`${JSON.stringify(row.defaultValue)}\``;
  return `| \`${row.path}\` | ${value} | ${escapeCell(defaultText)} | ${escapeCell(row.description)} |`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function properties(schema: TSchema): Record<string, TSchema> {
  return (schema.properties ?? {}) as Record<string, TSchema>;
}

function required(schema: TSchema): string[] {
  return (schema.required ?? []) as string[];
}
