// Markdown description of the catalogue, generated from the op definitions themselves so that
// docs/ops.md cannot drift from the code (a test compares the two).
import { OP_CATALOGUE } from './catalogue.ts';
import type { OpImplementation } from './types.ts';

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function describeOp(op: OpImplementation): string {
  const inputs = op.variadic ? `${op.inputs.join(', ')}…` : op.inputs.join(', ');
  const lines = [
    `### \`${op.key}\``,
    '',
    op.summary,
    '',
    `- inputs: ${inputs} → output: ${op.output}`,
    `- source: ${op.reference}`,
    '',
  ];
  if (op.params.length === 0) {
    lines.push('No parameters.', '');
  } else {
    lines.push('| parameter | type | unit | default | meaning |', '|---|---|---|---|---|');
    for (const p of op.params) {
      lines.push(
        `| \`${p.name}\` | ${cell(p.type)} | ${p.unit ?? ''} | ${p.default === null ? '(required)' : `\`${cell(p.default)}\``} | ${cell(p.description)} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

export function catalogueMarkdown(): string {
  return [...OP_CATALOGUE.values()].map(describeOp).join('\n');
}
