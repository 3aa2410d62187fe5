/**
 * `GET /docs`: the OpenAPI document as one readable HTML page, rendered on the server once at
 * build time. No script runs and nothing is fetched from another origin: the page and its
 * stylesheet (`/docs/docs.css`) are this server's, under a policy stricter than the console's
 * (`default-src 'none'`, styles from this origin only, no inline style), so it is served as is
 * behind the console's own CSP too.
 *
 * What it shows per operation: method, path, summary, description, security schemes, parameters
 * (name, where, required, type), request body media types and schema, responses (status,
 * description, media types). Schemas print as indented JSON, `$ref`s as links to the component.
 * Every text from the document is HTML-escaped (the five characters `& < > " '`).
 */
import type { OpenApiDocument } from './openapi.ts';

export const DOCS_STYLESHEET_PATH = '/docs/docs.css';

export const DOCS_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'none'",
    "style-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

export const DOCS_STYLESHEET = `body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem 1.5rem;color:#1b1f24}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ccd;padding-bottom:.2rem;margin-top:2rem}
nav ul{columns:2;padding-left:1.2rem}
.op{border:1px solid #dde;border-radius:6px;margin:1rem 0;padding:.6rem .9rem}
.op h3{margin:0;font-size:1rem;font-family:ui-monospace,monospace;word-break:break-all}
.m{display:inline-block;min-width:4.2rem;font-weight:700;text-transform:uppercase}
.m-get{color:#0a6}.m-post{color:#a60}.m-put{color:#06a}.m-delete{color:#c22}.m-patch{color:#808}
table{border-collapse:collapse;margin:.4rem 0}td,th{border:1px solid #dde;padding:.2rem .5rem;text-align:left;vertical-align:top}
pre{background:#f5f6f8;padding:.5rem;overflow:auto;font-size:13px}
code{font-family:ui-monospace,monospace}
`;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string => (typeof value === 'string' ? value : '');

/** `#/components/schemas/Certificate` → `component-schemas-Certificate` (an id safe in HTML). */
function anchorOf(ref: string): string {
  return ref.replace(/^#\//, '').replace(/[^A-Za-z0-9_-]/g, '-');
}

/** Indented JSON of a schema, escaped, with every `"$ref": "#/…"` value a link to its component. */
function schemaHtml(schema: unknown): string {
  const text = escapeHtml(JSON.stringify(schema, null, 2));
  return `<pre><code>${text.replace(
    /(&#34;\$ref&#34;: &#34;)(#\/[^&]*)(&#34;)/g,
    (_m, before: string, ref: string, after: string) => `${before}<a href="#${anchorOf(ref)}">${ref}</a>${after}`,
  )}</code></pre>`;
}

function mediaTypes(content: unknown): string {
  if (!isObject(content)) return '';
  return Object.keys(content)
    .map((type) => `<code>${escapeHtml(type)}</code>`)
    .join(', ');
}

function parametersHtml(parameters: unknown): string {
  if (!Array.isArray(parameters) || parameters.length === 0) return '';
  const rows = parameters
    .filter(isObject)
    .map((p) => {
      const schema = isObject(p.schema) ? p.schema : {};
      const type = str(schema.type) || (str(schema.$ref) ? str(schema.$ref).split('/').pop()! : '');
      return `<tr><td><code>${escapeHtml(str(p.name))}</code></td><td>${escapeHtml(str(p.in))}</td><td>${
        p.required === true ? 'yes' : 'no'
      }</td><td>${escapeHtml(type)}</td><td>${escapeHtml(str(p.description))}</td></tr>`;
    })
    .join('');
  return `<h4>Parameters</h4><table><tr><th>Name</th><th>In</th><th>Required</th><th>Type</th><th>Description</th></tr>${rows}</table>`;
}

function requestBodyHtml(body: unknown): string {
  if (!isObject(body)) return '';
  const parts = [`<h4>Request body${body.required === true ? ' (required)' : ''}</h4>`];
  if (str(body.description)) parts.push(`<p>${escapeHtml(str(body.description))}</p>`);
  if (isObject(body.content)) {
    for (const [type, media] of Object.entries(body.content)) {
      parts.push(`<p><code>${escapeHtml(type)}</code></p>`);
      if (isObject(media) && media.schema !== undefined) parts.push(schemaHtml(media.schema));
    }
  }
  return parts.join('');
}

function responsesHtml(responses: unknown): string {
  if (!isObject(responses)) return '';
  const rows = Object.entries(responses)
    .map(([status, response]) => {
      const r = isObject(response) ? response : {};
      return `<tr><td><code>${escapeHtml(status)}</code></td><td>${escapeHtml(str(r.description))}</td><td>${mediaTypes(
        r.content,
      )}</td></tr>`;
    })
    .join('');
  return `<h4>Responses</h4><table><tr><th>Status</th><th>Description</th><th>Media types</th></tr>${rows}</table>`;
}

function securityHtml(security: unknown): string {
  if (!Array.isArray(security) || security.length === 0) return '';
  const alternatives = security.filter(isObject).map((requirement) =>
    Object.keys(requirement)
      .map((name) => `<a href="#${anchorOf(`#/components/securitySchemes/${name}`)}">${escapeHtml(name)}</a>`)
      .join(' + '),
  );
  return `<p>Security: ${alternatives.join(' or ')}</p>`;
}

function operationHtml(method: string, path: string, op: Json): string {
  return [
    `<section class="op"><h3><span class="m m-${method}">${method}</span>${escapeHtml(path)}</h3>`,
    str(op.summary) ? `<p>${escapeHtml(str(op.summary))}</p>` : '',
    str(op.description) ? `<p>${escapeHtml(str(op.description))}</p>` : '',
    securityHtml(op.security),
    parametersHtml(op.parameters),
    requestBodyHtml(op.requestBody),
    responsesHtml(op.responses),
    '</section>',
  ].join('');
}

export function renderDocsPage(doc: OpenApiDocument): string {
  // Operations grouped by their first tag, in the document's tag order (untagged ones last).
  const groups = new Map<string, string[]>(doc.tags.map((t) => [t.name, []]));
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!isObject(item)) continue;
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const tag = Array.isArray(op.tags) && typeof op.tags[0] === 'string' ? op.tags[0] : 'other';
      const list = groups.get(tag) ?? [];
      list.push(operationHtml(method, path, op));
      groups.set(tag, list);
    }
  }
  const nonEmpty = [...groups].filter(([, ops]) => ops.length > 0);
  const components = Object.entries(doc.components).flatMap(([section, entries]) =>
    Object.entries(entries).map(
      ([name, value]) =>
        `<h3 id="${anchorOf(`#/components/${section}/${name}`)}"><code>${escapeHtml(section)}.${escapeHtml(
          name,
        )}</code></h3>${schemaHtml(value)}`,
    ),
  );
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(doc.info.title)} API reference</title>`,
    `<link rel="stylesheet" href="${DOCS_STYLESHEET_PATH}"></head><body>`,
    `<h1>${escapeHtml(doc.info.title)} API reference</h1>`,
    `<p>Version ${escapeHtml(doc.info.version)} · OpenAPI ${escapeHtml(doc.openapi)} · <a href="/docs/openapi.json">openapi.json</a></p>`,
    `<p>${escapeHtml(doc.info.description)}</p>`,
    '<nav><ul>',
    ...nonEmpty.map(([tag, ops]) => `<li><a href="#tag-${anchorOf(tag)}">${escapeHtml(tag)}</a> (${ops.length})</li>`),
    components.length > 0 ? '<li><a href="#components">Components</a></li>' : '',
    '</ul></nav>',
    ...nonEmpty.map(([tag, ops]) => `<h2 id="tag-${anchorOf(tag)}">${escapeHtml(tag)}</h2>${ops.join('')}`),
    components.length > 0 ? `<h2 id="components">Components</h2>${components.join('')}` : '',
    '</body></html>\n',
  ].join('');
}
