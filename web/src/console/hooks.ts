import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { AdminApi, Answer } from './api.js';

export const Api = createContext<AdminApi | null>(null);

export function useApi(): AdminApi {
  const api = useContext(Api);
  if (!api) throw new Error('no admin API: the console is not logged in');
  return api;
}

/** The live answer of an admin GET path (undefined until the first one; none while `path` is null). */
export function useWatch<T = any>(path: string | null): Answer<T> | undefined {
  const api = useApi();
  const [answer, setAnswer] = useState<Answer<T>>();
  useEffect(() => {
    setAnswer(undefined);
    if (path === null) return;
    return api.watch(path, (a) => setAnswer(a as Answer<T>));
  }, [api, path]);
  return answer;
}

/** Runs an admin action and keeps its last outcome for a status line. */
export function useAction(): [(method: string, path: string, body?: unknown) => Promise<Answer>, { ok: boolean; text: string } | undefined] {
  const api = useApi();
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();
  const run = async (method: string, path: string, body?: unknown) => {
    const a = await api.call(method, path, body);
    const ok = a.status < 300;
    setOutcome({ ok, text: ok ? `${method} ${path.split('?')[0]}: ${a.status}${a.body?.status ? ` ${a.body.status}` : ''}` : `${a.status}: ${a.body?.error ?? 'refused'}${a.body?.code ? ` (${a.body.code})` : ''}` });
    return a;
  };
  return [run, outcome];
}

export const query = (params: Record<string, string>) => {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v.trim() !== ''));
  const s = q.toString();
  return s ? `?${s}` : '';
};

/** "1:05" or "2:03:04" for a duration; "12 s" under a minute. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export const time = (at: number | null | undefined) => (at ? new Date(at).toLocaleString() : '—');
