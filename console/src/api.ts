// api.ts — every call the console makes goes to kasumid's admin API on this origin, authenticated
// by the session cookie (HttpOnly: the script never sees it). State-changing calls carry the
// session's CSRF token, which /auth/session hands to this script only.
export interface Session {
  user: string;
  tenant: string | null;
  name: string;
  mfa: boolean;
  csrf_token: string | null;
}

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

let csrf = "";

export async function loadSession(): Promise<Session | null> {
  const r = await fetch("/auth/session", { credentials: "same-origin" });
  if (r.status === 401) return null;
  if (!r.ok) throw new ApiError(r.status, "session", await r.text());
  const s = (await r.json()) as Session;
  csrf = s.csrf_token ?? "";
  return s;
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!r.ok) {
    const e = data?.error;
    throw new ApiError(r.status, e?.code ?? String(r.status), e?.message ?? r.statusText);
  }
  return data as T;
}

/** Every page of a list ({"items", "next_cursor"}), up to max items. */
export async function listAll<T = any>(path: string, max = 5000): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page: { items: T[]; next_cursor?: string | null } = await api(
      "GET",
      path + sep + "limit=1000" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""),
    );
    out.push(...page.items);
    cursor = page.next_cursor ?? null;
  } while (cursor && out.length < max);
  return out;
}

export function qs(params: Record<string, string | null | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) u.set(k, v);
  const s = u.toString();
  return s ? "?" + s : "";
}

/** A file as the raw body of a PUT (the object browser's upload): the CSRF header, no JSON. The
 * browser streams the File from disk with its Content-Length, and kasumid streams it into the store,
 * so its size is not bounded by memory on either side. XMLHttpRequest rather than fetch, because
 * only it reports upload progress (sent bytes, total). */
export function putFile<T = any>(path: string, file: Blob, progress?: (sent: number, total: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open("PUT", path);
    x.withCredentials = true;
    x.setRequestHeader("X-CSRF-Token", csrf);
    x.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    if (progress) x.upload.onprogress = (e) => progress(e.loaded, e.lengthComputable ? e.total : file.size);
    x.onerror = () => reject(new ApiError(0, "network", "the upload was interrupted"));
    x.onload = () => {
      let data: any = null;
      try {
        data = x.responseText ? JSON.parse(x.responseText) : null;
      } catch {
        data = null;
      }
      if (x.status >= 200 && x.status < 300) resolve(data as T);
      else reject(new ApiError(x.status, data?.error?.code ?? String(x.status), data?.error?.message ?? x.statusText));
    };
    x.send(file);
  });
}

/** A file as the raw body of a POST (an equipment list for a supply-chain case): its own type. */
export async function postFile<T = any>(path: string, file: Blob): Promise<T> {
  const r = await fetch(path, {
    method: "POST",
    headers: { "X-CSRF-Token": csrf, "Content-Type": file.type || "application/octet-stream" },
    credentials: "same-origin",
    body: file,
  });
  const data: any = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, data?.error?.code ?? String(r.status), data?.error?.message ?? r.statusText);
  return data as T;
}
