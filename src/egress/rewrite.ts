/**
 * --secret in a request's head: every placeholder in the request target
 * (path and query) and in every header value becomes the real value.
 * Header names, the method and the body are left alone: a placeholder in a
 * JSON body goes out as it is. Pure.
 */

/** One secret as the proxy holds it for a host: what the command sends,
 *  what goes out instead. */
export interface Injection {
  name: string;
  placeholder: string;
  value: string;
}

export interface RewrittenHead {
  url: string;
  /** Node's rawHeaders shape: name, value, name, value, … */
  rawHeaders: string[];
  /** The names of the secrets put in (each once), for the log. */
  injected: string[];
}

export function rewriteHead(url: string, rawHeaders: readonly string[], injections: readonly Injection[]): RewrittenHead {
  const injected = new Set<string>();
  const swap = (text: string): string => {
    let out = text;
    for (const i of injections) {
      if (i.placeholder === '' || !out.includes(i.placeholder)) continue;
      out = out.split(i.placeholder).join(i.value);
      injected.add(i.name);
    }
    return out;
  };
  const raw: string[] = [];
  for (let k = 0; k + 1 < rawHeaders.length; k += 2) raw.push(rawHeaders[k]!, swap(rawHeaders[k + 1]!));
  return { url: swap(url), rawHeaders: raw, injected: [...injected] };
}
