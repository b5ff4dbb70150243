import { readFileSync } from 'node:fs';

/**
 * Reads the codes listed in one package's section of `docs/errors.md` (the table rows under
 * `## <packageName>`). Used by each package's registry↔docs sync test; exported from
 * `@recspine/core/testing` so every package runs the same check.
 */
export function codesInErrorsDoc(docPath: string, packageName: string): { code: string; category: string }[] {
  const text = readFileSync(docPath, 'utf8');
  const start = text.indexOf(`## ${packageName}\n`);
  if (start < 0) throw new Error(`no section '## ${packageName}' in ${docPath}`);
  const rest = text.slice(start + 4 + packageName.length);
  const end = rest.search(/^## /m);
  const section = end < 0 ? rest : rest.slice(0, end);
  const rows: { code: string; category: string }[] = [];
  for (const m of section.matchAll(/^\|\s*`(RECSPINE_ERR_[A-Z0-9_]+)`\s*\|\s*(\w+)\s*\|/gm)) {
    rows.push({ code: m[1] as string, category: m[2] as string });
  }
  return rows;
}
