// A strict reading of untrusted JSON text (scenario files): size cap before anything else, then one
// pass over the text that refuses duplicate object keys (JSON.parse keeps the last silently) and
// nesting deeper than a limit, then JSON.parse for the values. The pass is a small tokenizer: it only
// has to know where strings, objects and arrays start and end; JSON.parse does the real validation.
export type StrictJsonProblem =
  | { readonly kind: 'too-large'; readonly bytes: number }
  | { readonly kind: 'not-utf8' }
  | { readonly kind: 'syntax'; readonly message: string }
  | { readonly kind: 'duplicate-key'; readonly key: string; readonly at: number }
  | { readonly kind: 'too-deep'; readonly at: number };

export type StrictJsonResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problem: StrictJsonProblem };

/** Reads `bytes` as UTF-8 JSON; refuses more than `maxBytes`, duplicate keys and deep nesting. */
export function parseStrictJson(bytes: Uint8Array, maxBytes: number, maxDepth: number): StrictJsonResult {
  if (bytes.length > maxBytes) return { ok: false, problem: { kind: 'too-large', bytes: bytes.length } };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, problem: { kind: 'not-utf8' } };
  }
  const structure = checkStructure(text, maxDepth);
  if (structure !== null) return { ok: false, problem: structure };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, problem: { kind: 'syntax', message: (error as Error).message } };
  }
}

interface Frame {
  readonly object: boolean;
  readonly keys: Set<string>;
  /** In an object: the next string is a key. */
  expectKey: boolean;
}

function checkStructure(text: string, maxDepth: number): StrictJsonProblem | null {
  const stack: Frame[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      if (end < 0) return null; // unterminated: JSON.parse reports it
      const top = stack[stack.length - 1];
      if (top?.object === true && top.expectKey) {
        let key: string;
        try {
          key = JSON.parse(text.slice(i, end + 1)) as string;
        } catch {
          return null;
        }
        if (top.keys.has(key)) return { kind: 'duplicate-key', key, at: i };
        top.keys.add(key);
        top.expectKey = false;
      }
      i = end + 1;
      continue;
    }
    if (c === '{' || c === '[') {
      if (stack.length >= maxDepth) return { kind: 'too-deep', at: i };
      stack.push({ object: c === '{', keys: new Set(), expectKey: c === '{' });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.object === true) top.expectKey = true;
    }
    i += 1;
  }
  return null;
}

/** Index of the closing quote of the string starting at `start`, or -1. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (c === '"') return i;
    else i += 1;
  }
  return -1;
}
