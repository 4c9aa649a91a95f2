// Rewrites the generated catalogue section of docs/ops.md: node --import tsx test/unit/models/ops/update-docs.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { catalogueMarkdown } from '../../../../models/ops/index.ts';

export const DOCS = new URL('../../../../docs/ops.md', import.meta.url);
export const START = '<!-- catalogue:start -->';
export const END = '<!-- catalogue:end -->';

export function generatedSection(): string {
  return `${START}\n${catalogueMarkdown()}\n${END}`;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const text = readFileSync(DOCS, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error('docs/ops.md has no catalogue markers');
  writeFileSync(DOCS, text.slice(0, a) + generatedSection() + text.slice(b + END.length));
}
